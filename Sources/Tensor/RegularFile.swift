#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Why a path could not be opened as a regular file: what it names instead, or the system error.
package struct RegularFileError: Error, Sendable, Equatable {
    /// A short reason, e.g. `"it is a FIFO (named pipe), not a regular file"`, `"symbolic link loop
    /// (too many levels of symbolic links)"`, `"dangling symbolic link (its target does not
    /// exist)"` or `"No such file or directory"`.
    package let reason: String
}

/// The one place every file reader (weights, detectors, images, configurations) opens a file:
/// the path is checked to name a regular file *before* any `open` that could block, so a FIFO,
/// a directory, a device or a socket is refused at once with a message saying what it is,
/// instead of hanging until a writer appears (a FIFO) or failing later with a misleading error.
///
/// The path is `stat`ed first (symlinks followed; a loop or a dangling link is named as such),
/// then opened with `O_NONBLOCK` (so a path swapped for a FIFO between the two calls still cannot
/// block) and `fstat`ed again.
package enum RegularFile {
    /// What a file mode names, when it is not a regular file.
    package static func kindProblem(mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "it is a directory, not a regular file"
        case S_IFIFO: return "it is a FIFO (named pipe), not a regular file"
        case S_IFCHR: return "it is a character device, not a regular file"
        case S_IFBLK: return "it is a block device, not a regular file"
        case S_IFSOCK: return "it is a socket, not a regular file"
        default: return "it is not a regular file"
        }
    }

    /// The C library's `open`, which the static method of the same name hides.
    private static func systemOpen(_ path: String, _ flags: Int32) -> Int32 {
        #if canImport(Glibc)
        return Glibc.open(path, flags)
        #else
        return Darwin.open(path, flags)
        #endif
    }

    /// The system error `errno` as text.
    private static func systemReason() -> String { String(cString: strerror(errno)) }

    /// Why `stat(path)` failed with the error `code` (`errno` read right after the call): a
    /// symbolic link loop and a dangling symbolic link are named as such (the system's "No such
    /// file or directory" for a link whose target is missing reads as if the link itself were
    /// missing); anything else is the system's message.
    package static func statFailureReason(_ path: String, code: Int32) -> String {
        path.withCString { statFailureReason(cPath: $0, code: code) }
    }

    /// ``statFailureReason(_:code:)`` for a path given as a C string (any bytes, as a folder
    /// listing or the command line gives them).
    package static func statFailureReason(cPath path: UnsafePointer<CChar>, code: Int32) -> String {
        if code == ELOOP { return "symbolic link loop (too many levels of symbolic links)" }
        if code == ENOENT {
            var status = stat()
            if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK {
                return "dangling symbolic link (its target does not exist)"
            }
        }
        return String(cString: strerror(code))
    }

    /// Opens the regular file at `path` read-only and returns its descriptor (the caller closes
    /// it) and its size in bytes.
    ///
    /// - Throws: ``RegularFileError`` when the path does not exist, is not a regular file, or
    ///   cannot be opened.
    package static func open(_ path: String) throws(RegularFileError) -> (descriptor: Int32, size: Int) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw RegularFileError(reason: statFailureReason(path, code: errno)) }
        if let problem = kindProblem(mode: status.st_mode) { throw RegularFileError(reason: problem) }
        let descriptor = systemOpen(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw RegularFileError(reason: systemReason()) }
        guard fstat(descriptor, &status) == 0 else {
            let reason = systemReason()
            close(descriptor)
            throw RegularFileError(reason: reason)
        }
        if let problem = kindProblem(mode: status.st_mode) {
            close(descriptor)
            throw RegularFileError(reason: problem)
        }
        return (descriptor, Int(status.st_size))
    }

    /// Checks that `path` names a regular file, without opening it.
    ///
    /// - Throws: ``RegularFileError`` saying what the path is instead (or the `stat` error).
    package static func check(_ path: String) throws(RegularFileError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw RegularFileError(reason: statFailureReason(path, code: errno)) }
        if let problem = kindProblem(mode: status.st_mode) { throw RegularFileError(reason: problem) }
    }

    /// The whole contents of the regular file at `url` (a file URL).
    ///
    /// - Parameter maximumSize: the largest file accepted, in bytes (checked from `fstat` before
    ///   anything is allocated).
    /// - Throws: ``RegularFileError`` for a path that is not a readable regular file, or one
    ///   larger than `maximumSize`.
    package static func contents(of url: URL, maximumSize: Int = Int.max) throws(RegularFileError) -> Data {
        let (descriptor, size) = try open(url.path)
        defer { close(descriptor) }
        guard size <= maximumSize else {
            throw RegularFileError(reason: "the file is \(size) bytes, more than the \(maximumSize)-byte limit for this kind of file")
        }
        var data = Data(count: size)
        var filled = 0
        let failure: String? = data.withUnsafeMutableBytes { buffer -> String? in
            while filled < size {
                let got = read(descriptor, buffer.baseAddress! + filled, size - filled)
                if got < 0 {
                    if errno == EINTR { continue }
                    return systemReason()
                }
                if got == 0 { break }  // the file shrank while being read
                filled += got
            }
            return nil
        }
        if let failure { throw RegularFileError(reason: failure) }
        if filled < size { data.removeSubrange(filled...) }
        return data
    }

    /// The contents of the regular file at `url`, memory-mapped read-only (pages are read as
    /// they are touched, so hashing a multi-gigabyte checkpoint does not copy it); an empty file
    /// gives empty data.
    ///
    /// - Throws: ``RegularFileError`` for a path that is not a readable regular file, or when the
    ///   mapping fails.
    package static func mappedContents(of url: URL) throws(RegularFileError) -> Data {
        let (descriptor, size) = try open(url.path)
        defer { close(descriptor) }
        guard size > 0 else { return Data() }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw RegularFileError(reason: "mmap failed: \(systemReason())")
        }
        return Data(bytesNoCopy: address, count: size, deallocator: .custom { pointer, count in _ = munmap(pointer, count) })
    }
}
