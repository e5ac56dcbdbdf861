import FuzzImaging
import FuzzSupport

/// Decodes the bytes as `Image(data:)` does for a .png file (see `fuzzImageDecoding`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzImageDecoding(FuzzInput.data(start, count), name: "input.png")
    return 0
}
