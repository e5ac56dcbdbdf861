import Foundation
import NN
import Testing

/// `grain denoiser train` with architectures given as diffusers `config.json` files.
@Suite("grain denoiser train", .enabled(if: grainExecutable != nil, "the grain executable is not built next to the tests: skipped"))
struct DenoiserCommandTests {
    /// Writes a JSON object to `folder/name`.
    func writeJSON(_ object: [String: Any], _ name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        return url.path
    }

    @Test func trainsTheArchitecturesOfTheConfigFilesAndRefusesMismatchedChannels() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-denoiser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("photos"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for index in 0..<2 {
            try noisyImage(seed: UInt64(index)).write(to: folder.appendingPathComponent("photos/photo\(index).png"))
        }
        // A VAE that downsamples 2× (two levels) with 3 latent channels, and a U-Net to match.
        let vae: [String: Any] = ["block_out_channels": [8, 16], "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
                                  "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "latent_channels": 3,
                                  "layers_per_block": 1, "norm_num_groups": 4]
        var unet: [String: Any] = ["block_out_channels": [16, 32], "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
                                   "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"], "in_channels": 3, "out_channels": 3,
                                   "layers_per_block": 1, "norm_num_groups": 8, "cross_attention_dim": 8, "attention_head_dim": 4]
        let vaePath = try writeJSON(vae, "vae.json", in: folder)
        let unetPath = try writeJSON(unet, "unet.json", in: folder)
        let common = ["denoiser", "train", "--photos", folder.appendingPathComponent("photos").path, "--vae-steps", "2", "--steps", "2", "--batch-size", "2",
                      "--crop-size", "16", "--vae-config", vaePath]
        let run = try grain(common + ["--out", folder.appendingPathComponent("run").path, "--unet-config", unetPath], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        let model = try DiffusersFolder(folder.appendingPathComponent("run/model"))
        #expect(try model.vaeConfiguration().blockOutChannels == [8, 16])
        #expect(try model.vaeConfiguration().latentChannels == 3)
        #expect(try model.unetConfiguration().downBlockTypes == ["DownBlock2D", "CrossAttnDownBlock2D"])

        // A U-Net whose channels do not fit the VAE's latents is refused before any training.
        unet["in_channels"] = 4
        unet["out_channels"] = 4
        let wrong = try writeJSON(unet, "unet-4.json", in: folder)
        let refused = try grain(common + ["--out", folder.appendingPathComponent("wrong").path, "--unet-config", wrong], in: folder)
        #expect(refused.status != 0)
        #expect(refused.errors.contains("unet-4.json") && refused.errors.contains("latent_channels 3"), "\(refused.errors)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("wrong/model").path))
    }
}
