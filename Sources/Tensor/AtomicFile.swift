#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Grain's one atomic writer, used by safetensors files (weights, checkpoints, detectors), images
/// and the pretext dataset builder.
///
/// The bytes go to a hidden temporary file in the target's folder, `.NAME.tmp-PID-RANDOM`, are
/// flushed to disk, and the file is renamed over the target, so a reader (or a resumed run) sees
/// the old file or the whole new one, never a part. A process killed while writing leaves its
/// temporary file behind; the next write to the same target removes every such file whose
/// process no longer runs, so they do not accumulate (issue 17).
package enum AtomicFile {
    /// Why an atomic write failed: the target and the system's reason.
    package struct Failure: Error, CustomStringConvertible {
        /// The file that was to be written.
        package let path: String
        /// What went wrong.
        package let reason: String

        package var description: String { "\(path): \(reason)" }
    }

    /// The prefix of every temporary file written for a target named `name`.
    package static func temporaryPrefix(for name: String) -> String { ".\(name).tmp-" }

    /// Creates a temporary file next to `url`, lets `body` fill it through its descriptor,
    /// flushes it and renames it over `url`; on any failure the temporary file is removed and
    /// `url` is left untouched. Stale temporary files of dead processes for the same target are
    /// removed first.
    ///
    /// - Parameters:
    ///   - createFolder: create the target's folder (and its parents) if missing.
    ///   - event: called between the steps (tests kill the process at chosen moments).
    /// - Throws: ``Failure`` for a system error; whatever `body` throws.
    package static func create(at url: URL, createFolder: Bool = false, event: (String) -> Void = { _ in },
                               _ body: (Int32) throws -> Void) throws {
        let path = url.path
        let folder = url.deletingLastPathComponent()
        if createFolder {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw Failure(path: path, reason: "cannot create the folder \(folder.path): \(error.localizedDescription)")
            }
        }
        removeStaleTemporaryFiles(for: url)
        let temporary = folder.appendingPathComponent(
            temporaryPrefix(for: url.lastPathComponent) + "\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 16))
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw Failure(path: path, reason: "cannot create a temporary file in \(folder.path): \(String(cString: strerror(errno)))")
        }
        event("created \(temporary.lastPathComponent)")
        var closed = false
        do {
            try body(descriptor)
            guard fsync(descriptor) == 0 else { throw Failure(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
            closed = true
            guard close(descriptor) == 0 else { throw Failure(path: path, reason: "close: \(String(cString: strerror(errno)))") }
            event("written \(temporary.lastPathComponent)")
            guard rename(temporary.path, path) == 0 else { throw Failure(path: path, reason: "rename: \(String(cString: strerror(errno)))") }
        } catch {
            if !closed { close(descriptor) }
            unlink(temporary.path)
            throw error
        }
        event("renamed \(url.lastPathComponent)")
    }

    /// Writes `data` to `url` atomically; see ``create(at:createFolder:event:_:)``.
    package static func write(_ data: Data, to url: URL, createFolder: Bool = false, event: (String) -> Void = { _ in }) throws {
        try create(at: url, createFolder: createFolder, event: event) { descriptor in
            try data.withUnsafeBytes { try writeAll(descriptor, $0, path: url.path) }
        }
    }

    /// Writes every byte of `bytes`, retrying after short writes and interrupts.
    package static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard var cursor = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = systemWrite(descriptor, cursor, min(remaining, 1 << 30))
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path, reason: String(cString: strerror(errno)))
            }
            cursor += written
            remaining -= written
        }
    }

    /// Removes the temporary files for `url` (`.NAME.tmp-PID…`) left by processes that no longer
    /// run; those of running processes (a concurrent writer) are kept.
    package static func removeStaleTemporaryFiles(for url: URL) {
        let folder = url.deletingLastPathComponent()
        let prefix = temporaryPrefix(for: url.lastPathComponent)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            let owner = name.dropFirst(prefix.count).prefix { $0.isASCII && $0.isNumber }
            guard let pid = Int32(owner), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(folder.appendingPathComponent(name).path) }
        }
    }

    /// Removes every temporary file (`.NAME.tmp-…`) under `folder`, recursively: for a job that
    /// owns the folder and restarts (the pretext dataset builder).
    package static func removeStrayTemporaryFiles(in folder: URL) {
        guard let entries = FileManager.default.enumerator(atPath: folder.path) else { return }
        for case let path as String in entries {
            let name = (path as NSString).lastPathComponent
            if name.hasPrefix("."), name.contains(".tmp-") {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(path))
            }
        }
    }
}

/// The system's `write(2)` (the name is shadowed inside ``AtomicFile``).
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
