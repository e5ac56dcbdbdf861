#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Hands a fuzz input to APIs that take a path: the bytes are written to one scratch file per
/// process, rewritten in place on every input, whose URL the body receives. The file lives in
/// `/dev/shm` (memory) when there is one, else in `$TMPDIR`, and is written with plain
/// `write(2)`: `Data.write(to:)` calls `fsync`, which made a disk flush (and a discard) the
/// largest cost of an input.
public enum FuzzInput {
    /// The scratch file of this process, by extension.
    nonisolated(unsafe) private static var scratch: [String: URL] = [:]

    /// Calls `body` with a file holding `count` bytes from `start`, named `input.<fileExtension>`.
    public static func withFile<Result>(_ start: UnsafePointer<UInt8>?, _ count: Int, fileExtension: String,
                                        _ body: (URL) throws -> Result) rethrows -> Result {
        let url: URL
        if let known = scratch[fileExtension] {
            url = known
        } else {
            let memory = URL(fileURLWithPath: "/dev/shm", isDirectory: true)
            let base = FileManager.default.isWritableFile(atPath: memory.path) ? memory : FileManager.default.temporaryDirectory
            let folder = base.appendingPathComponent("grain-fuzz-\(getpid())")
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            url = folder.appendingPathComponent("input.\(fileExtension)")
            if scratch.isEmpty { atexit { FuzzInput.removeScratchFolder() } }
            scratch[fileExtension] = url
        }
        // A failed write would fuzz stale bytes: stop loudly instead.
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { fatalError("cannot open the fuzz scratch file \(url.path): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < count, let start {
            let result = write(descriptor, start + written, count - written)
            guard result > 0 else { fatalError("cannot write the fuzz scratch file \(url.path): \(String(cString: strerror(errno)))") }
            written += result
        }
        close(descriptor)
        return try body(url)
    }

    /// Removes this process's scratch folder (at exit: a run leaves nothing in memory behind).
    private static func removeScratchFolder() {
        guard let folder = scratch.values.first?.deletingLastPathComponent() else { return }
        try? FileManager.default.removeItem(at: folder)
    }

    /// The bytes as `Data`.
    public static func data(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Data {
        start.map { Data(bytes: $0, count: count) } ?? Data()
    }
}
