import Foundation
import Testing
import Diffusion
import NN
import Tensor
import GrainTestSupport

/// A full level-k restoration with Grain's pipeline on the tiny random-weight SD folder, against
/// diffusers' own U-Net, VAE, text encoder and DDIMScheduler in the same loop
/// (Scripts/reference/restoration_fixtures.py).
@Suite struct StableDiffusionRestorationTests {
    static let tinyFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../StableDiffusionTests/Fixtures/tiny-sd").standardizedFileURL

    @Test func levelRestorationsMatchDiffusers() throws {
        let fixtures = try SafeTensors(contentsOf: URL(fileURLWithPath: fixturesDirectory() + "/tiny_sd_restoration.safetensors"))
        let pipeline = try RestorationPipeline<StableDiffusionCodec, StableDiffusionDenoiser>.stableDiffusion(folder: Self.tinyFolder)
        #expect(pipeline.sizeMultiple == 8)
        let image = try fixtures.tensor(named: "image")
        let latents = try pipeline.encode(image)
        expectClose(latents, try fixtures.tensor(named: "latents"), rtol: 1e-4, atol: 1e-5, "VAE posterior mean × 0.18215")
        expectClose(try pipeline.reconstruct(image), try fixtures.tensor(named: "reconstruction"), rtol: 1e-4, atol: 1e-5,
                    "reconstruction (class 1)")
        for level in [1, 5, 9] {
            var steps = pipeline.steps(restoring: latents, level: try NoiseLevel(level), noise: try fixtures.tensor(named: "level\(level).noise"))
            let final = steps.finish()
            expectClose(final, try fixtures.tensor(named: "level\(level).latents"), rtol: 1e-4, atol: 1e-5, "level \(level) latents")
            expectClose(pipeline.decode(final), try fixtures.tensor(named: "level\(level).restored"), rtol: 1e-4, atol: 1e-5,
                        "level \(level) restored image")
        }
    }
}
