import FuzzSupport
import Imaging

/// Decodes the bytes (as the file reader does, with the default pixel limit) and reads the
/// header. Any thrown ImageError is fine; a crash, a leak or a hang is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = FuzzInput.data(start, count)
    _ = try? Image.header(of: data, name: "input.png")
    do {
        let image = try Image(data: data, name: "input.png")
        precondition(image.pixels.count == image.width * image.height * 3, "decoded buffer does not match the header")
    } catch {
        precondition(error.description.hasPrefix("input.png: "), "message does not name the file: \(error)")
    }
    return 0
}
