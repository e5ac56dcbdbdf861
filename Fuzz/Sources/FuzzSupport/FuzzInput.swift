import Foundation

/// Hands a fuzz input to APIs that take a path: the bytes are written to one scratch file per
/// process (in `$TMPDIR`, replaced on every input), whose URL the body receives.
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
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-fuzz-\(getpid())")
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            url = folder.appendingPathComponent("input.\(fileExtension)")
            scratch[fileExtension] = url
        }
        let data = start.map { Data(bytes: $0, count: count) } ?? Data()
        // A failed write would fuzz stale bytes: stop loudly instead.
        do { try data.write(to: url) } catch { fatalError("cannot write the fuzz scratch file \(url.path): \(error)") }
        return try body(url)
    }

    /// The bytes as `Data`.
    public static func data(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Data {
        start.map { Data(bytes: $0, count: count) } ?? Data()
    }
}
