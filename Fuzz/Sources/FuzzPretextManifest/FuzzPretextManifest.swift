import FuzzSupport
import Pretext

/// Reads the bytes as a pretext manifest (JSON lines, one record per crop). Any thrown error is
/// fine; a crash is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPretextManifest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzInput.withFile(start, count, fileExtension: "jsonl") { url in
        _ = try? PretextManifest(contentsOf: url)
    }
    return 0
}
