import FuzzSupport
import Tensor

/// Opens the bytes as a safetensors file and reads every tensor (float32 and float64 paths).
/// Any thrown error is fine; a crash, a leak or a hang is a bug. Errors must name the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzInput.withFile(start, count, fileExtension: "safetensors") { url in
        do {
            let file = try SafeTensors(contentsOf: url)
            for key in file.keys {
                _ = try? file.tensor(named: key)
                _ = try? file.doubles(named: key)
            }
        } catch let error as WeightFileError {
            precondition(error.description.hasPrefix(url.path + ": "), "message does not name the file: \(error)")
        } catch {
            fatalError("untyped error: \(error)")
        }
    }
    return 0
}
