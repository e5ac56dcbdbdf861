import Foundation
import Testing
import Tensor
import GrainTestSupport
import Diffusion

/// The denoiser that knows the answer: for x_t it returns the noise that separates x_t from x₀,
/// `(x_t − √ᾱ_t x₀)/√(1 − ᾱ_t)`. Every DDIM step then predicts x₀ exactly, so a restoration must
/// come back to the forward process at the final ᾱ: x₀ itself when `set_alpha_to_one`.
struct OracleDenoiser: Denoiser {
    /// x₀ in the denoiser's space.
    let original: Tensor
    let scheduler: any Scheduler
    var sizeMultiple: Int = 1

    func modelOutput(for sample: Tensor, timestep: Int) -> Tensor {
        let alpha = scheduler.alphasCumulativeProduct[timestep]
        return (sample - alpha.squareRoot() * original) / (1 - alpha).squareRoot()
    }
}

/// diffusers' loop parity uses `tanh(0.5 x + 0.001 t) · 0.8`.
struct ToyDenoiser: Denoiser {
    func modelOutput(for sample: Tensor, timestep: Int) -> Tensor {
        (sample * 0.5 + Float(Double(timestep) * 0.001)).tanh() * 0.8
    }
}

/// A latent codec that is exactly invertible: pixel unshuffle by 2 ([B, 3, H, W] → [B, 12, H/2, W/2])
/// times 0.5.
struct UnshuffleCodec: LatentCodec {
    var downsamplingFactor: Int { 2 }
    func encode(_ images: Tensor) -> Tensor {
        let (b, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        return images.reshaped([b, c, h / 2, 2, w / 2, 2]).permuted([0, 1, 3, 5, 2, 4])
            .reshaped([b, c * 4, h / 2, w / 2]) * 0.5
    }
    func decode(_ latents: Tensor) -> Tensor {
        let (b, c, h, w) = (latents.shape[0], latents.shape[1] / 4, latents.shape[2], latents.shape[3])
        return (latents * 2).reshaped([b, c, 2, 2, h, w]).permuted([0, 1, 4, 2, 5, 3]).reshaped([b, c, h * 2, w * 2])
    }
}

@Suite struct RestorationPipelineTests {
    static let alphaToOne = DDIMScheduler(configuration: .init(setAlphaToOne: true), inferenceStepCount: 50)

    /// Images in [0.05, 0.95], so the final clamp to [0, 1] never acts.
    static func images(_ count: Int, size: Int = 8, seed: UInt64 = 1) -> Tensor {
        randomTensor([count, 3, size, size], seed: seed, lower: 0.05, upper: 0.95)
    }

    @Test(arguments: [1, 5, 9])
    func oracleRestoresPixelsExactly(_ k: Int) throws {
        let images = Self.images(2)
        let scheduler = Self.alphaToOne
        for eta: Float in [0, 1] {
            let oracle = OracleDenoiser(original: images * 2 - 1, scheduler: scheduler)
            let pipeline = RestorationPipeline(codec: PixelSpace(), denoiser: oracle, scheduler: scheduler, eta: eta)
            var seen: [Int] = []
            let restored = try pipeline.restore(images, level: try NoiseLevel(k), seeds: [1, 2]) { step in
                seen.append(step.timestep)
                return true
            }
            #expect(seen == Array(stride(from: 20 * (k - 1) + 1, through: 1, by: -20)))
            expectClose(restored, images, rtol: 0, atol: 2e-6, "pixel-space oracle, level \(k), η \(eta)")
        }
    }

    /// With Stable Diffusion's `set_alpha_to_one` false the last step lands at ᾱ₀ = 0.99915, not 1:
    /// the output keeps √(1 − ᾱ₀) ≈ 0.029 of the corruption noise, as diffusers' pipelines do.
    @Test func stableDiffusionScheduleEndsAtAlphaZero() throws {
        let images = Self.images(1)
        let scheduler = NoiseLevel.standardScheduler
        let oracle = OracleDenoiser(original: images * 2 - 1, scheduler: scheduler)
        let pipeline = RestorationPipeline(codec: PixelSpace(), denoiser: oracle)
        let restored = try pipeline.restore(images, level: try NoiseLevel(7), seeds: [99])
        var generator = RandomGenerator(seed: 99)
        let noise = Tensor.randomNormal([1, 3, 8, 8], using: &generator)
        let expected = (scheduler.addNoise(original: images * 2 - 1, noise: noise, timestep: 0) * 0.5 + 0.5).clamped(min: 0, max: 1)
        expectClose(restored, expected, rtol: 0, atol: 2e-6, "SD schedule, oracle, level 7")
    }

    @Test func latentCodecRestoresExactlyAndChecksSizes() throws {
        let images = Self.images(2, size: 8, seed: 5)
        let codec = UnshuffleCodec()
        expectClose(codec.decode(codec.encode(images)), images, rtol: 0, atol: 0, "unshuffle round trip")
        let scheduler = Self.alphaToOne
        let oracle = OracleDenoiser(original: codec.encode(images * 2 - 1), scheduler: scheduler, sizeMultiple: 4)
        let pipeline = RestorationPipeline(codec: codec, denoiser: oracle, scheduler: scheduler)
        #expect(pipeline.sizeMultiple == 8)
        expectClose(try pipeline.reconstruct(images), images, rtol: 0, atol: 1e-6, "reconstruction")
        expectClose(try pipeline.restore(images, level: try NoiseLevel(9), seeds: [3, 4]), images, rtol: 0, atol: 2e-6,
                    "latent oracle, level 9")
        #expect(throws: DiffusionError.sizeNotMultiple(height: 12, width: 8, multiple: 8)) {
            try pipeline.restore(Tensor.zeros([1, 3, 12, 8]), level: try NoiseLevel(1), seeds: [0])
        }
        #expect(throws: DiffusionError.invalidImageShape([3, 8, 8])) { try pipeline.encode(Tensor.zeros([3, 8, 8])) }
        #expect(throws: DiffusionError.seedCountMismatch(seeds: 1, images: 2)) {
            try pipeline.restore(images, level: try NoiseLevel(1), seeds: [0])
        }
        #expect(DiffusionError.sizeNotMultiple(height: 12, width: 8, multiple: 8).description
                == "image size 12×8 is not a multiple of 8 in both directions")
    }

    /// Image i's result depends only on seeds[i], not on the batch around it.
    @Test func deterministicAndIndependentOfBatching() throws {
        let images = Self.images(2, seed: 8)
        let pipeline = RestorationPipeline(codec: PixelSpace(), denoiser: ToyDenoiser(), eta: 0.5)
        let level = try NoiseLevel(6)
        let together = try pipeline.restore(images, level: level, seeds: [10, 11])
        #expect(try pipeline.restore(images, level: level, seeds: [10, 11]).scalars == together.scalars)
        let first = try pipeline.restore(images.sliced(axis: 0, start: 0, end: 1), level: level, seeds: [10])
        let second = try pipeline.restore(images.sliced(axis: 0, start: 1, end: 2), level: level, seeds: [11])
        #expect(Tensor.concatenate([first, second], axis: 0).scalars == together.scalars)
        #expect(try pipeline.restore(images, level: level, seeds: [10, 12]).scalars != together.scalars)
    }

    @Test func progressCanCancel() throws {
        let pipeline = RestorationPipeline(codec: PixelSpace(), denoiser: ToyDenoiser())
        var calls: [Int] = []
        #expect(throws: DiffusionError.cancelled) {
            try pipeline.restore(Self.images(1), level: try NoiseLevel(9), seeds: [1]) { step in
                calls.append(step.index)
                return step.index < 1
            }
        }
        #expect(calls == [0, 1])
    }

    @Test func stepsCanBeDrivenByTheCaller() throws {
        let pipeline = RestorationPipeline(codec: PixelSpace(), denoiser: ToyDenoiser())
        let latents = Self.images(1) * 2 - 1
        var steps = try pipeline.steps(restoring: latents, level: try NoiseLevel(3), seeds: [5])
        #expect(steps.stepCount == 3 && !steps.isFinished)
        let first = steps.next()
        #expect(first?.timestep == 41 && steps.completedStepCount == 1)
        let final = steps.finish()
        #expect(steps.isFinished && steps.next() == nil)
        var again = try pipeline.steps(restoring: latents, level: try NoiseLevel(3), seeds: [5])
        #expect(Array(again.map(\.timestep)) == [41, 21, 1])
        #expect(again.finish().scalars == final.scalars)
    }

    /// The level-k loop run by diffusers' own scheduler with the same toy denoiser.
    @Test func loopMatchesDiffusers() {
        struct LoopCase: Decodable { let name: String, config: String, level: Int, timesteps: [Int] }
        let cases = DDIMParityTests.metadata("loops", as: [LoopCase].self)
        #expect(cases.count == 5)
        for c in cases {
            let scheduler = DDIMScheduler(configuration: DDIMParityTests.configurations[c.config]!, inferenceStepCount: 50)
            let level = try! NoiseLevel(c.level)
            #expect(level.timesteps(in: scheduler) == c.timesteps)
            let pipeline = RestorationPipeline(codec: PixelSpace(), denoiser: ToyDenoiser(), scheduler: scheduler)
            var steps = pipeline.steps(restoring: DDIMParityTests.tensor("\(c.name).original"), level: level,
                                       noise: DDIMParityTests.tensor("\(c.name).noise"))
            expectClose(steps.finish(), DDIMParityTests.tensor("\(c.name).restored"), rtol: 1e-4, atol: 1e-6, c.name)
        }
    }
}
