import FuzzSupport
import NN

/// Reads the bytes as a diffusers `config.json` for each component Grain builds (UNet, VAE,
/// CLIP text encoder), as `DiffusersFolder` does. Any thrown error is fine; a crash is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDiffusersConfiguration(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzInput.withFile(start, count, fileExtension: "json") { url in
        _ = try? UNet2DConditionConfiguration(contentsOf: url)
        _ = try? AutoencoderKLConfiguration(contentsOf: url)
        _ = try? CLIPTextConfiguration(contentsOf: url)
    }
    return 0
}
