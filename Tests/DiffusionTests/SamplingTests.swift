import Diffusion
import GrainTestSupport
import Tensor
import Testing

@Suite struct SamplingTests {
    /// A pipeline in pixel space over the toy denoiser (diffusers' loop-parity model).
    static func pipeline(eta: Float = 0) -> RestorationPipeline<PixelSpace, ToyDenoiser> {
        RestorationPipeline(codec: PixelSpace(), denoiser: ToyDenoiser(), eta: eta)
    }

    @Test func generatesTheRequestedShapeInTheUnitRange() throws {
        var seen: [Int] = []
        let images = try Self.pipeline().generate(height: 8, width: 12, latentChannels: 3, seeds: [1, 2, 3]) { step in
            seen.append(step.timestep)
            return true
        }
        #expect(images.shape == [3, 3, 8, 12])
        #expect(images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(seen == Array(stride(from: 981, through: 1, by: -20)))
    }

    @Test func isDeterministicPerSeedAndIndependentOfTheBatch() throws {
        for eta: Float in [0, 1] {
            let pipeline = Self.pipeline(eta: eta)
            let batch = try pipeline.generate(height: 4, width: 4, latentChannels: 3, seeds: [7, 8])
            let again = try pipeline.generate(height: 4, width: 4, latentChannels: 3, seeds: [7, 8])
            let alone = try pipeline.generate(height: 4, width: 4, latentChannels: 3, seeds: [8])
            #expect(batch.scalars == again.scalars)
            #expect(batch.sliced(axis: 0, start: 1, end: 2).scalars == alone.scalars, "η \(eta)")
            let other = try pipeline.generate(height: 4, width: 4, latentChannels: 3, seeds: [9])
            #expect(other.scalars != alone.scalars)
        }
    }

    /// The same result as the plain loop `x = step(ε̂(x, t), t, x)` over the scheduler's timesteps
    /// from x_T = the seed's standard normal draw.
    @Test func matchesAPlainSchedulerLoop() throws {
        let scheduler = NoiseLevel.standardScheduler
        let denoiser = ToyDenoiser()
        var generator = RandomGenerator(seed: 42)
        var x = Tensor.randomNormal([1, 3, 4, 4], using: &generator)
        for t in scheduler.timesteps {
            x = scheduler.step(modelOutput: denoiser.modelOutput(for: x, timestep: t), timestep: t, sample: x).previousSample
        }
        let expected = (x * 0.5 + 0.5).clamped(min: 0, max: 1)
        let generated = try Self.pipeline().generate(height: 4, width: 4, latentChannels: 3, seeds: [42])
        expectClose(generated, expected, rtol: 0, atol: 0, "pure-noise sampling vs a plain DDIM loop")
    }

    @Test func rejectsSizesThatAreNotMultiples() {
        let pipeline = RestorationPipeline(codec: UnshuffleCodec(), denoiser: ToyDenoiser())
        #expect(throws: DiffusionError.self) { try pipeline.generate(height: 6, width: 5, latentChannels: 12, seeds: [1]) }
        #expect(throws: Never.self) { try pipeline.generate(height: 6, width: 4, latentChannels: 12, seeds: [1]) }
    }
}
