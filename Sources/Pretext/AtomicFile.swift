import Foundation

/// Atomic file writing for long jobs: the bytes go to a hidden temporary file in the target's
/// folder (`.NAME.tmp-HOST-PID`), are flushed, and the file is renamed over the target, so a reader
/// (or a resumed run) sees the old file or the whole new one, never a part. Temporary files left by
/// a killed process are removed by ``removeStrayTemporaryFiles(in:staleAfter:)``; those of writers
/// still running (other shards writing into the same folder) are left alone.
public enum AtomicFile {
    /// `HOST-PID` of this process: the suffix of its temporary files.
    static let writerTag: String = {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(cString: name) : "unknown-host"
        return "\(host)-\(getpid())"
    }()

    /// Writes `data` to `url` atomically. `event` is called between the steps (for tests that kill
    /// the process at chosen moments).
    public static func write(_ data: Data, to url: URL, event: (String) -> Void = { _ in }) throws {
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(writerTag)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        let handle = try FileHandle(forWritingTo: temporary)
        event("created \(temporary.lastPathComponent)")
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        event("written \(temporary.lastPathComponent)")
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path, NSLocalizedDescriptionKey: reason])
        }
        event("renamed \(url.lastPathComponent)")
    }

    /// Removes, recursively under `folder`, the temporary files (`.NAME.tmp-HOST-PID`) whose writer
    /// is gone: on this host, when process PID no longer runs; from another host sharing the folder
    /// (or in an older name without the host), when the file has not changed for `staleAfter`
    /// seconds. Shards building into one folder at the same time thus never remove each other's
    /// files in flight.
    public static func removeStrayTemporaryFiles(in folder: URL, staleAfter: TimeInterval = 3600) {
        guard let entries = FileManager.default.enumerator(atPath: folder.path) else { return }
        let thisHost = writerTag[..<writerTag.lastIndex(of: "-")!]
        for case let path as String in entries {
            let name = (path as NSString).lastPathComponent
            guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { continue }
            let tag = name[marker.upperBound...]
            let url = folder.appendingPathComponent(path)
            let stray: Bool
            if let dash = tag.lastIndex(of: "-"), tag[..<dash] == thisHost, let pid = pid_t(tag[tag.index(after: dash)...]) {
                stray = kill(pid, 0) != 0 && errno == ESRCH
            } else {
                let modified = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? .distantPast
                stray = Date().timeIntervalSince(modified) > staleAfter
            }
            if stray { try? FileManager.default.removeItem(at: url) }
        }
    }
}
