import FuzzImaging
import FuzzSupport

/// Decodes the bytes as `Image(data:)` does for a .jpeg file (see `fuzzImageDecoding`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJPEG(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzImageDecoding(FuzzInput.data(start, count), name: "input.jpeg")
    return 0
}
