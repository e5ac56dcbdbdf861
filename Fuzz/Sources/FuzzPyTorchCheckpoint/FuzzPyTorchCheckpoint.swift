import FuzzSupport
import Tensor

/// Opens the bytes as a `torch.save` zip (archive + pickle), reads every state-dict tensor and
/// walks the decoded object. Any thrown error is fine; a crash, a leak or a hang is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPyTorchCheckpoint(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzInput.withFile(start, count, fileExtension: "pth") { url in
        do {
            let checkpoint = try PyTorchCheckpoint(contentsOf: url, permittingOpaqueGlobals: ["argparse.Namespace"])
            for key in checkpoint.keys { _ = try? checkpoint.tensor(named: key) }
            for path in checkpoint.stateDictPaths { _ = try? checkpoint.selecting(stateDictAt: path) }
        } catch let error as WeightFileError {
            precondition(error.description.hasPrefix(url.path + ": "), "message does not name the file: \(error)")
        } catch {
            fatalError("untyped error: \(error)")
        }
    }
    return 0
}
