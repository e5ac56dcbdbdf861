import Foundation

/// Atomic file writing for long jobs: the bytes go to a hidden temporary file in the target's
/// folder (`.NAME.tmp-PID`), are flushed, and the file is renamed over the target, so a reader
/// (or a resumed run) sees the old file or the whole new one, never a part. Temporary files left by
/// a killed process are removed by ``removeStrayTemporaryFiles(in:)``.
public enum AtomicFile {
    /// Writes `data` to `url` atomically. `event` is called between the steps (for tests that kill
    /// the process at chosen moments).
    public static func write(_ data: Data, to url: URL, event: (String) -> Void = { _ in }) throws {
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
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

    /// Removes the temporary files (`.NAME.tmp-PID`) under `folder`, recursively.
    public static func removeStrayTemporaryFiles(in folder: URL) {
        guard let entries = FileManager.default.enumerator(atPath: folder.path) else { return }
        for case let path as String in entries {
            let name = (path as NSString).lastPathComponent
            if name.hasPrefix("."), name.contains(".tmp-") {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(path))
            }
        }
    }
}
