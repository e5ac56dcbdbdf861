import Diffusion
import Tensor
import Testing

/// A stand-in denoiser that predicts no noise (a trained model goes here).
private struct NoNoise: Denoiser {
    func modelOutput(for sample: Tensor, timestep: Int) -> Tensor { Tensor.zeros(sample.shape) }
}

/// The code block of Diffusion.docc, compiled and run.
@Suite struct DiffusionDocumentationExampleTests {
    @Test func overviewExample() throws {
        let scheduler = NoiseLevel.standardScheduler          // SD v1.4 DDIM, 50 steps
        let level = try NoiseLevel(5)
        print(level.timesteps(in: scheduler))                 // [81, 61, 41, 21, 1]
        let pipeline = RestorationPipeline(codec: PixelSpace(), denoiser: NoNoise())
        let images = Tensor.full([2, 3, 32, 32], value: 0.5)  // two images in [0, 1]
        let restored = try pipeline.restore(images, level: level, seeds: [1, 2])  // [2, 3, 32, 32] in [0, 1]
        #expect(level.timesteps(in: scheduler) == [81, 61, 41, 21, 1])
        #expect(restored.shape == [2, 3, 32, 32])
    }
}
