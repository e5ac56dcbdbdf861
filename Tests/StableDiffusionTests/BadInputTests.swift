import Foundation
import Testing
import Tensor
import NN
import GrainTestSupport

/// A writable copy of the tiny diffusers folder in a fresh temporary directory.
final class ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("grain-sd-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: TinyFixtures.folderURL, to: url)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    /// Rewrites the JSON object at `relative` through `edit`.
    func editJSON(_ relative: String, _ edit: (inout [String: Any]) -> Void) throws {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: file(relative))) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: file(relative))
    }
}

/// Bad folders, configurations, weights and inputs give typed errors naming the file, key or shape.
@Suite("Stable Diffusion parts reject bad input with typed errors")
struct BadInputTests {
    @Test func aMissingFolderIsNamed() throws {
        let url = URL(fileURLWithPath: "/nonexistent/stable-diffusion")
        #expect(throws: StableDiffusionError.missingFolder(path: url.path)) { try DiffusersFolder(url) }
    }

    @Test func aMissingPartIsNamed() throws {
        let scratch = try ScratchFolder()
        try FileManager.default.removeItem(at: scratch.file("vae"))
        let folder = try DiffusersFolder(scratch.url)
        #expect(throws: StableDiffusionError.missingFolder(path: scratch.file("vae").path)) { try folder.vae() }
        _ = try folder.unet()  // the other parts still load
    }

    @Test func aMissingConfigurationOrWeightFileIsNamed() throws {
        let scratch = try ScratchFolder()
        try FileManager.default.removeItem(at: scratch.file("unet/config.json"))
        let folder = try DiffusersFolder(scratch.url)
        #expect(throws: StableDiffusionError.missingFile(path: scratch.file("unet/config.json").path)) { try folder.unet() }
        let bf16 = scratch.file("vae/diffusion_pytorch_model.bf16.safetensors").path
        #expect(throws: StableDiffusionError.missingFile(path: bf16)) { try folder.vae(variant: "bf16") }
    }

    @Test func anUnsupportedBlockTypeNamesTheFileKeyAndValue() throws {
        let scratch = try ScratchFolder()
        try scratch.editJSON("unet/config.json") { $0["down_block_types"] = ["AttnDownBlock2D", "DownBlock2D"] }
        let path = scratch.file("unet/config.json").path
        do {
            _ = try DiffusersFolder(scratch.url).unet()
            Issue.record("an AttnDownBlock2D configuration loaded")
        } catch StableDiffusionError.unsupportedConfiguration(let file, let key, let value) {
            #expect(file == path)
            #expect(key == "down_block_types")
            #expect(value.contains("AttnDownBlock2D"))
        }
        try scratch.editJSON("vae/config.json") { $0["act_fn"] = "gelu" }
        #expect(throws: StableDiffusionError.unsupportedConfiguration(
            path: scratch.file("vae/config.json").path, key: "act_fn", value: "gelu (Grain implements silu)")) {
            try DiffusersFolder(scratch.url).vae()
        }
        try scratch.editJSON("text_encoder/config.json") { $0["hidden_act"] = "relu" }
        #expect(throws: StableDiffusionError.self) { try DiffusersFolder(scratch.url).textEncoder() }
    }

    @Test func otherUnsupportedUNetOptionsAreRejected() throws {
        var configuration = UNet2DConditionConfiguration()
        configuration.classEmbedType = "timestep"
        #expect(throws: StableDiffusionError.unsupportedConfiguration(
            path: "UNet2DConditionConfiguration", key: "class_embed_type", value: "timestep")) {
            try UNet2DConditionModel(configuration: configuration)
        }
        configuration = UNet2DConditionConfiguration()
        configuration.attentionHeadDimension = .perBlock([8, 8])
        #expect(throws: StableDiffusionError.self) { try UNet2DConditionModel(configuration: configuration) }
    }

    @Test func aWronglyTypedValueIsAnInvalidConfigurationNamingTheKey() throws {
        let scratch = try ScratchFolder()
        try scratch.editJSON("unet/config.json") { $0["layers_per_block"] = "two" }
        do {
            _ = try DiffusersFolder(scratch.url).unet()
            Issue.record("a string layers_per_block loaded")
        } catch StableDiffusionError.invalidConfiguration(let path, let reason) {
            #expect(path == scratch.file("unet/config.json").path)
            #expect(reason.contains("layers_per_block"), "\(reason)")
        }
        try Data("{not json".utf8).write(to: scratch.file("vae/config.json"))
        #expect(throws: StableDiffusionError.self) { try DiffusersFolder(scratch.url).vae() }
    }

    @Test func fp16WeightsWithANaNNameTheFileAndKey() throws {
        let scratch = try ScratchFolder()
        let url = scratch.file("unet/diffusion_pytorch_model.fp16.safetensors")
        let file = try SafeTensors(contentsOf: url)
        let key = "down_blocks.0.resnets.0.conv1.weight"
        let info = try file.info(named: key)
        #expect(info.dtype == .float16)
        var bytes = try Data(contentsOf: url)
        let offset = file.dataStart + info.dataOffsets.lowerBound + 2 * 5  // element 5
        bytes[offset] = 0x00
        bytes[offset + 1] = 0x7E  // a quiet NaN, little-endian
        try bytes.write(to: url)
        do {
            _ = try DiffusersFolder(scratch.url).unet(variant: "fp16")
            Issue.record("a NaN weight loaded")
        } catch StableDiffusionError.nonFiniteWeight(let path, let badKey, let index, let value) {
            #expect(path == url.path)
            #expect(badKey == key)
            #expect(index == 5)
            #expect(value.isNaN)
        }
        _ = try DiffusersFolder(scratch.url).unet()  // the fp32 file is intact
    }

    @Test func missingUnexpectedAndMisshapedTensorsNameTheFileAndKey() throws {
        let scratch = try ScratchFolder()
        let url = scratch.file("vae/diffusion_pytorch_model.safetensors")
        let state = try DiffusersFolder(scratch.url).vae().stateDictionary()

        var dropped = state
        dropped["decoder.conv_out.bias"] = nil
        try SafeTensors.write(dropped, to: url)
        #expect(throws: ModuleLoadingError.inFile(url.path, .missingKey("decoder.conv_out.bias"))) {
            try DiffusersFolder(scratch.url).vae()
        }

        var extra = state
        extra["decoder.conv_extra.weight"] = Tensor.zeros([1])
        try SafeTensors.write(extra, to: url)
        #expect(throws: ModuleLoadingError.inFile(url.path, .unexpectedKey("decoder.conv_extra.weight"))) {
            try DiffusersFolder(scratch.url).vae()
        }

        var misshaped = state
        misshaped["quant_conv.bias"] = Tensor.zeros([7])
        try SafeTensors.write(misshaped, to: url)
        #expect(throws: ModuleLoadingError.inFile(url.path, .shapeMismatch(key: "quant_conv.bias", expected: [8], actual: [7]))) {
            try DiffusersFolder(scratch.url).vae()
        }
    }

    @Test func aConfigurationThatDisagreesWithTheWeightsIsAShapeMismatch() throws {
        let scratch = try ScratchFolder()
        try scratch.editJSON("unet/config.json") { $0["cross_attention_dim"] = 16 }
        do {
            _ = try DiffusersFolder(scratch.url).unet()
            Issue.record("a cross_attention_dim of 16 loaded 32-wide weights")
        } catch ModuleLoadingError.inFile(let path, .shapeMismatch(let key, let expected, let actual)) {
            #expect(path.hasSuffix("unet/diffusion_pytorch_model.safetensors"))
            #expect(key.contains("attn2.to_k.weight") || key.contains("attn2.to_v.weight"), "\(key)")
            #expect(expected.last == 16 && actual.last == 32)
        }
    }

    @Test func legacyVAEAttentionNamesLoad() throws {
        let scratch = try ScratchFolder()
        let url = scratch.file("vae/diffusion_pytorch_model.safetensors")
        let reference = try DiffusersFolder(scratch.url).vae()
        let renames = [".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."]
        var legacy: [String: Tensor] = [:]
        for (key, value) in reference.stateDictionary() {
            var old = key
            for (new, previous) in renames where key.contains(".attentions.") { old = old.replacingOccurrences(of: new, with: previous) }
            legacy[old] = value
        }
        #expect(legacy["encoder.mid_block.attentions.0.proj_attn.weight"] != nil)
        try SafeTensors.write(legacy, to: url)
        let loaded = try DiffusersFolder(scratch.url).vae()
        let io = try TinyFixtures.io()
        let latent = try io.tensor(named: "vae.latent")
        #expect(try loaded.decode(latent).scalars == reference.decode(latent).scalars)
    }

    @Test func inputsOfTheWrongShapeNameTheShape() throws {
        let folder = try TinyFixtures.folder()
        let unet = try folder.unet(), vae = try folder.vae(), clip = try folder.textEncoder()
        let context = Tensor.zeros([1, 77, 32])
        do {
            _ = try unet(Tensor.zeros([1, 3, 8, 8]), timesteps: [1], encoderHiddenStates: context)
            Issue.record("a 3-channel latent ran")
        } catch StableDiffusionError.invalidInput(let model, let reason) {
            #expect(model == "UNet2DConditionModel")
            #expect(reason.contains("[1, 3, 8, 8]") && reason.contains("in_channels 4"), "\(reason)")
        }
        #expect(throws: StableDiffusionError.self) {
            try unet(Tensor.zeros([1, 4, 8, 8]), timesteps: [1], encoderHiddenStates: Tensor.zeros([1, 77, 16]))
        }
        #expect(throws: StableDiffusionError.self) {
            try unet(Tensor.zeros([2, 4, 8, 8]), timesteps: [1, 2, 3], encoderHiddenStates: Tensor.zeros([2, 77, 32]))
        }
        do {
            _ = try vae.decode(Tensor.zeros([1, 3, 8, 8]))
            Issue.record("a 3-channel latent decoded")
        } catch StableDiffusionError.invalidInput(let model, let reason) {
            #expect(model == "AutoencoderKL.decode")
            #expect(reason.contains("[1, 3, 8, 8]"), "\(reason)")
        }
        #expect(throws: StableDiffusionError.self) { try vae.encode(Tensor.zeros([1, 3, 30, 32])) }
        #expect(throws: StableDiffusionError.self) { try clip([[1, 2, 1000]]) }
        #expect(throws: StableDiffusionError.self) { try clip([Array(repeating: 1, count: 78)]) }
        #expect(throws: StableDiffusionError.self) { try clip([[1, 2], [1]]) }
    }
}

/// Configurations read on their own (`grain denoiser train --vae-config/--unet-config`).
@Suite struct ConfigurationFileTests {
    @Test func aConfigurationFileReadsAsTheFolderReadsIt() throws {
        let scratch = try ScratchFolder()
        let folder = try DiffusersFolder(scratch.url)
        #expect(try AutoencoderKLConfiguration(contentsOf: scratch.file("vae/config.json")) == folder.vaeConfiguration())
        #expect(try UNet2DConditionConfiguration(contentsOf: scratch.file("unet/config.json")) == folder.unetConfiguration())
        #expect(try CLIPTextConfiguration(contentsOf: scratch.file("text_encoder/config.json")) == folder.textEncoderConfiguration())
    }

    @Test func aMissingOrInconsistentConfigurationFileIsNamed() throws {
        let scratch = try ScratchFolder()
        let missing = scratch.file("nowhere/config.json")
        #expect(throws: StableDiffusionError.missingFile(path: missing.path)) {
            try AutoencoderKLConfiguration(contentsOf: missing)
        }
        // Decodes, but three block types for two channel counts cannot build a VAE.
        try scratch.editJSON("vae/config.json") { $0["block_out_channels"] = [32, 64] }
        let file = scratch.file("vae/config.json")
        do {
            _ = try AutoencoderKLConfiguration(contentsOf: file)
            Issue.record("an inconsistent VAE configuration was accepted")
        } catch StableDiffusionError.unsupportedConfiguration(let path, let key, _) {
            #expect(path == file.path)
            #expect(key == "down_block_types")
        }
    }
}
