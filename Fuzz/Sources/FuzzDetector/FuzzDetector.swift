import FuzzSupport
import OneClass

/// Loads the bytes as a detector file (`grain fit`'s output: safetensors + JSON metadata,
/// extractor weights, mixture parameters). Any thrown DetectorError is fine; a crash is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDetector(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzInput.withFile(start, count, fileExtension: "detector") { url in
        do {
            _ = try Detector(contentsOf: url)
        } catch {
            precondition("\(error)".contains(url.path), "message does not name the file: \(error)")
        }
    }
    return 0
}
