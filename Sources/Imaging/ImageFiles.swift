#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Tensor

/// Lists the image files a command or a batch should process.
public enum ImageFiles {
    /// The file extensions taken from folders (compared case-insensitively).
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Extensions of image formats Grain does not decode (compared case-insensitively): a folder's
    /// file named so is listed as an entry with a problem ("image format webp is not read …"), not
    /// dropped, since it is most likely a photo the user meant to include.
    public static let unreadImageExtensions: Set<String> = [
        "webp", "tif", "tiff", "heic", "heif", "avif", "gif", "bmp", "jxl", "jp2", "dng", "raw", "cr2", "cr3", "nef", "arw",
    ]

    /// One entry of a listing: a file to read, or an image-named entry of a folder that cannot be
    /// read as a file, with the reason — so that a batch reports it next to its path instead of
    /// dropping it.
    public struct Entry: Equatable, Hashable, Sendable {
        /// The path. A name whose bytes are not valid UTF-8 has each invalid byte written as
        /// `\xNN` (lower-case hex): such a path names the entry for a person, but no `String`
        /// path can open it.
        public var path: String
        /// Why the entry cannot be read (e.g. `"symbolic link loop (too many levels of symbolic
        /// links)"`, `"dangling symbolic link (its target does not exist)"`, `"it is a FIFO (named
        /// pipe), not a regular file"`, `"the file name is not valid UTF-8 …"`); nil for a file
        /// to read.
        public var problem: String?

        /// Creates an entry.
        public init(path: String, problem: String? = nil) {
            self.path = path
            self.problem = problem
        }
    }

    /// Expands `paths` in order, reporting what it cannot use.
    ///
    /// A folder (or a symbolic link to one) becomes, sorted by path, every entry under it
    /// (recursively; hidden files and folders skipped; symbolic links to folders inside it are
    /// not followed, so a link cycle cannot make the walk endless) whose name ends in one of
    /// ``extensions``: a regular file (or a link to one) as a file to read, anything else with
    /// an image name as an entry with a ``Entry/problem`` — a symbolic link loop, a dangling
    /// link, a FIFO, socket or device, a name that is not valid UTF-8, a file named as an image
    /// format Grain does not decode (``unreadImageExtensions``) — and a subfolder that
    /// cannot be listed as an entry with its reason. Anything given that is not a folder — a
    /// file of any extension, a path that does not exist — is kept as given, without a problem,
    /// so that reading it reports its own error next to its name.
    public static func list(_ paths: [String]) -> [Entry] {
        list(pathBytes: paths.map { Array($0.utf8) })
    }

    /// ``list(_:)`` for paths given as their bytes, as the command line passes them (no `String`
    /// holds a name that is not valid UTF-8).
    ///
    /// A path that is valid UTF-8 is listed as ``list(_:)`` lists it. One that is not is listed
    /// with its invalid bytes written `\xNN`: a folder is walked (its entries read as entries with
    /// a problem, their paths not being UTF-8 either), anything else becomes an entry whose
    /// problem says the name is not valid UTF-8 — and, when there is nothing to open under it,
    /// why (e.g. "No such file or directory") — instead of a mangled name read as missing.
    public static func list(pathBytes paths: [[UInt8]]) -> [Entry] {
        var result: [Entry] = []
        for bytes in paths {
            var status = stat()
            let exists = withCPath(bytes, { stat($0, &status) }) == 0
            let code = errno
            guard exists, status.st_mode & S_IFMT == S_IFDIR else {
                if let text = String(validating: bytes, as: UTF8.self) {
                    result.append(Entry(path: text))
                } else {
                    let reason = exists ? "" : withCPath(bytes) { RegularFile.statFailureReason(cPath: $0, code: code) }
                    result.append(Entry(path: escaped(bytes), problem: notUTF8Problem + (exists ? "" : " (and it cannot be read: \(reason))")))
                }
                continue
            }
            var found: [Entry] = []
            walk(folder: bytes, into: &found)
            result += found.sorted { $0.path < $1.path }
        }
        return result
    }

    /// The problem of an entry whose name is not valid UTF-8.
    static let notUTF8Problem = "the file name is not valid UTF-8 (its invalid bytes are shown as \\xNN); rename it to read it"

    /// The paths of ``list(_:)``, problem entries included (reading one reports its problem, except
    /// for a name that is not valid UTF-8, whose escaped path reads as missing: use ``list(_:)``
    /// to report those).
    public static func expand(_ paths: [String]) -> [String] {
        list(paths).map(\.path)
    }

    /// ``expand(_:)`` as file URLs.
    public static func expand(_ paths: [String]) -> [URL] {
        expand(paths).map { URL(fileURLWithPath: $0) }
    }

    /// Appends the image entries under the folder whose path has the bytes `folder`.
    private static func walk(folder: [UInt8], into found: inout [Entry]) {
        guard let directory = withCPath(folder, { opendir($0) }) else {
            let reason = String(cString: strerror(errno))
            found.append(Entry(path: escaped(folder), problem: "cannot list the folder: \(reason)"))
            return
        }
        defer { closedir(directory) }
        var names: [[UInt8]] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name.first == UInt8(ascii: ".") { continue }  // ".", ".." and hidden entries
            names.append(name)
        }
        for name in names {
            let full = folder + (folder.last == UInt8(ascii: "/") ? [] : [UInt8(ascii: "/")]) + name
            var status = stat()
            guard withCPath(full, { lstat($0, &status) }) == 0 else { continue }  // removed meanwhile
            if status.st_mode & S_IFMT == S_IFDIR {
                walk(folder: full, into: &found)
                continue
            }
            guard let kind = imageExtension(name) else { continue }
            let path = escaped(full)
            if !extensions.contains(kind) {
                found.append(Entry(path: path, problem: "image format \(kind) is not read (Grain reads JPEG and PNG); convert it to PNG to include it"))
                continue
            }
            guard String(validating: full, as: UTF8.self) != nil else {
                found.append(Entry(path: path, problem: notUTF8Problem))
                continue
            }
            if status.st_mode & S_IFMT == S_IFLNK {
                guard withCPath(full, { stat($0, &status) }) == 0 else {
                    let code = errno
                    found.append(Entry(path: path, problem: RegularFile.statFailureReason(path, code: code)))
                    continue
                }
                if status.st_mode & S_IFMT == S_IFDIR { continue }  // a link to a folder is not followed
            }
            found.append(Entry(path: path, problem: RegularFile.kindProblem(mode: status.st_mode)))
        }
    }

    /// Calls `body` with `bytes` as a NUL-terminated C string.
    private static func withCPath<Result>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> Result) -> Result {
        (bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// The name's extension, lower-cased, when it is one of ``extensions`` or
    /// ``unreadImageExtensions`` (ASCII, any case); nil otherwise.
    private static func imageExtension(_ name: [UInt8]) -> String? {
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")) else { return nil }
        let suffix = name[(dot + 1)...]
        guard suffix.allSatisfy({ $0 < 0x80 }) else { return nil }
        let kind = String(decoding: suffix, as: UTF8.self).lowercased()
        return extensions.contains(kind) || unreadImageExtensions.contains(kind) ? kind : nil
    }

    /// `bytes` as text: valid UTF-8 as it is, every byte that is not part of a valid UTF-8
    /// sequence as `\xNN`.
    package static func escaped(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var text = ""
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead >= 0xC2 && lead < 0xE0 ? 2 : lead >= 0xE0 && lead < 0xF0 ? 3 : lead >= 0xF0 && lead < 0xF5 ? 4 : 0
            if length > 0, index + length <= bytes.count,
               let scalar = String(validating: bytes[index..<(index + length)], as: UTF8.self) {
                text += scalar
                index += length
            } else {
                text += String(format: "\\x%02x", lead)
                index += 1
            }
        }
        return text
    }
}
