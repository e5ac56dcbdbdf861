#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Grain's one atomic writer, used by safetensors files (weights, checkpoints, detectors), images
/// and the pretext dataset builder.
///
/// The bytes go to a hidden temporary file in the target's folder, `.NAME.tmp-HOST-PID-RANDOM`,
/// are flushed to disk, and the file is renamed over the target, so a reader (or a resumed run)
/// sees the old file or the whole new one, never a part. A process killed while writing leaves its
/// temporary file behind; the next write to the same target removes every such file whose writer
/// is gone, so they do not accumulate (issue 17). A writer is gone when it ran on this host and its
/// process no longer exists, or — for a file from another host sharing the folder (a job array on
/// a cluster file system), or in an older name — when the file has not changed for an hour: shards
/// writing into one folder at the same time never remove each other's files in flight.
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
            temporaryPrefix(for: url.lastPathComponent) + "\(hostTag)-\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 16))
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

    /// This host's name as temporary file names carry it (dashes kept; empty becomes `host`).
    package static let hostTag: String = {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count) == 0 else { return "host" }
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return host.isEmpty ? "host" : host
    }()

    /// How long a temporary file from another host (or in an older name) must have been left
    /// unchanged before it counts as abandoned.
    package static let foreignStaleAfter: TimeInterval = 3600

    /// Whether the temporary file `url`, whose name ends in `tag` (`HOST-PID-RANDOM`), was left
    /// by a writer that is gone (see the type's documentation).
    package static func isAbandoned(tag: Substring, at url: URL, staleAfter: TimeInterval = foreignStaleAfter) -> Bool {
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count >= 3, let pid = Int32(parts[parts.count - 2]), pid > 0,
           parts[..<(parts.count - 2)].joined(separator: "-") == hostTag {
            guard pid != getpid() else { return false }
            return kill(pid, 0) != 0 && errno == ESRCH
        }
        let modified = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? .distantPast
        return Date().timeIntervalSince(modified) > staleAfter
    }

    /// Removes the temporary files for `url` left by writers that are gone; those of running
    /// writers (a concurrent writer, on this host or another) are kept.
    package static func removeStaleTemporaryFiles(for url: URL) {
        let folder = url.deletingLastPathComponent()
        let prefix = temporaryPrefix(for: url.lastPathComponent)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            let file = folder.appendingPathComponent(name)
            if isAbandoned(tag: name.dropFirst(prefix.count), at: file) { unlink(file.path) }
        }
    }

    /// Removes, recursively under `folder`, the temporary files (`.NAME.tmp-…`) whose writer is
    /// gone — for a job that owns the folder and restarts (the pretext dataset builder, whose
    /// shards may be writing into the same folder at the same time).
    package static func removeStrayTemporaryFiles(in folder: URL, staleAfter: TimeInterval = foreignStaleAfter) {
        guard let entries = FileManager.default.enumerator(atPath: folder.path) else { return }
        for case let path as String in entries {
            let name = (path as NSString).lastPathComponent
            guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { continue }
            let file = folder.appendingPathComponent(path)
            if isAbandoned(tag: name[marker.upperBound...], at: file, staleAfter: staleAfter) {
                try? FileManager.default.removeItem(at: file)
            }
        }
    }
}

/// The system's `write(2)` (the name is shadowed inside ``AtomicFile``).
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
