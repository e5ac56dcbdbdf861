import Foundation
import Testing
import Tensor
import GrainTestSupport
import Diffusion

/// The scheduler's configuration coding, its invariants, its gradients and its error messages.
@Suite struct SchedulerTests {
    /// CompVis/stable-diffusion-v1-4 scheduler/scheduler_config.json (a PNDMScheduler's), verbatim.
    static let stableDiffusionJSON = """
    {
      "_class_name": "PNDMScheduler",
      "_diffusers_version": "0.7.0.dev0",
      "beta_end": 0.012,
      "beta_schedule": "scaled_linear",
      "beta_start": 0.00085,
      "num_train_timesteps": 1000,
      "set_alpha_to_one": false,
      "skip_prk_steps": true,
      "steps_offset": 1,
      "trained_betas": null,
      "clip_sample": false
    }
    """

    @Test func stableDiffusionConfigurationDecodesToTheDefaults() throws {
        let decoded = try JSONDecoder().decode(DDIMSchedulerConfiguration.self, from: Data(Self.stableDiffusionJSON.utf8))
        #expect(decoded == .stableDiffusionV14)
        #expect(decoded == DDIMSchedulerConfiguration())
    }

    @Test func missingKeysTakeDiffusersDefaults() throws {
        let decoded = try JSONDecoder().decode(DDIMSchedulerConfiguration.self, from: Data("{}".utf8))
        #expect(decoded == .diffusersDefaults)
        #expect(decoded.betaSchedule == .linear && decoded.clipSample && decoded.setAlphaToOne && decoded.stepsOffset == 0)
    }

    @Test func encodingRoundTripsUnderDiffusersKeys() throws {
        var configuration = DDIMSchedulerConfiguration(betaSchedule: .squaredCosineCapV2, predictionType: .velocity,
                                                       timestepSpacing: .trailing)
        configuration.trainedBetas = nil
        let data = try JSONEncoder().encode(configuration)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(object["beta_schedule"] as? String == "squaredcos_cap_v2")
        #expect(object["prediction_type"] as? String == "v_prediction")
        #expect(object["trained_betas"] is NSNull)
        #expect(try JSONDecoder().decode(DDIMSchedulerConfiguration.self, from: data) == configuration)
    }

    @Test func unknownScheduleIsADecodingError() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(DDIMSchedulerConfiguration.self, from: Data(#"{"beta_schedule": "laplace"}"#.utf8))
        }
    }

    /// A malformed `scheduler_config.json` is a typed error naming the key, not a crash later in
    /// `DDIMScheduler.init`.
    @Test(arguments: [
        (#"{"num_train_timesteps": 0}"#, "num_train_timesteps"),
        (#"{"num_train_timesteps": 1000000000}"#, "num_train_timesteps"),
        (#"{"num_train_timesteps": 3, "trained_betas": [0.1, 0.2]}"#, "trained_betas"),
        (#"{"clip_sample_range": -1}"#, "clip_sample_range"),
        (#"{"dynamic_thresholding_ratio": 0}"#, "dynamic_thresholding_ratio"),
        (#"{"sample_max_value": 0.5}"#, "sample_max_value"),
        (#"{"steps_offset": 1000}"#, "steps_offset"),
        (#"{"steps_offset": -2}"#, "steps_offset"),
    ])
    func malformedConfigurationIsATypedError(json: String, key: String) {
        #expect {
            try JSONDecoder().decode(DDIMSchedulerConfiguration.self, from: Data(json.utf8))
        } throws: { error in
            guard case .invalid(let named, _, _) = error as? DDIMSchedulerConfigurationError else { return false }
            return named == key
        }
    }

    @Test func trainedBetasReplaceTheSchedule() {
        let betas = (0..<10).map { 0.01 + Double($0) * 0.01 }
        let scheduler = DDIMScheduler(configuration: .init(trainingStepCount: 10, trainedBetas: betas, stepsOffset: 0),
                                      inferenceStepCount: 5)
        #expect(scheduler.betas == betas.map { Float($0) })
        #expect(scheduler.timesteps == [8, 6, 4, 2, 0])
        #expect(abs(scheduler.alphasCumulativeProduct[1] - 0.99 * 0.98) < 1e-7)
    }

    @Test func stableDiffusionTimesteps() {
        let scheduler = DDIMScheduler()
        #expect(scheduler.timesteps == Array(stride(from: 981, through: 1, by: -20)))
        #expect(scheduler.stepRatio == 20)
        #expect(scheduler.previousTimestep(before: 1) == -19)
        #expect(scheduler.alphaCumulativeProduct(at: -19) == scheduler.alphasCumulativeProduct[0])
        #expect(scheduler.finalAlphaCumulativeProduct == 1 - 0.00085)
    }

    /// With the true noise as the model's output, every step predicts x₀ exactly and lands on the
    /// forward process at the previous timestep (DDIM's defining property, η = 0).
    @Test func oracleNoiseRecoversTheOriginalAtEveryStep() {
        let scheduler = DDIMScheduler()
        let original = randomTensor([2, 4, 6, 6], seed: 3)
        var generator = RandomGenerator(seed: 4)
        let noise = Tensor.randomNormal(original.shape, using: &generator)
        var sample = scheduler.addNoise(original: original, noise: noise, timestep: 981)
        for t in scheduler.timesteps {
            let output = scheduler.step(modelOutput: noise, timestep: t, sample: sample)
            expectClose(output.predictedOriginalSample, original, rtol: 0, atol: 2e-4, "x̂₀ at t = \(t)")
            sample = output.previousSample
        }
        let final = scheduler.addNoise(original: original, noise: noise, timestep: 0)  // ᾱ before step 1 is ᾱ₀
        expectClose(sample, final, rtol: 0, atol: 2e-4, "x after the last step")
    }

    @Test func stepAndAddNoiseAreDifferentiable() {
        let sample = randomTensor([1, 2, 3, 3], seed: 1), output = randomTensor([1, 2, 3, 3], seed: 2)
        let noise = randomTensor([1, 2, 3, 3], seed: 5)
        for prediction in PredictionType.allCases {
            let scheduler = DDIMScheduler(configuration: .init(predictionType: prediction), inferenceStepCount: 10)
            expectGradients("step \(prediction)", [output, sample], epsilon: 1e-2, rtol: 2e-2, atol: 2e-3) { x in
                scheduler.step(modelOutput: x[0], timestep: 401, sample: x[1], eta: 0.5, varianceNoise: noise).previousSample
            }
        }
        let scheduler = DDIMScheduler()
        expectGradients("addNoise", [sample, noise]) { x in
            scheduler.addNoise(original: x[0], noise: x[1], timesteps: [500])
        }
    }

    @Test func seededStepIsReproducible() {
        let scheduler = DDIMScheduler()
        let sample = randomTensor([1, 4, 4, 4], seed: 1), output = randomTensor([1, 4, 4, 4], seed: 2)
        var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9)
        let first = scheduler.step(modelOutput: output, timestep: 501, sample: sample, eta: 1, using: &a).previousSample
        let second = scheduler.step(modelOutput: output, timestep: 501, sample: sample, eta: 1, using: &b).previousSample
        #expect(first.scalars == second.scalars)
        let deterministic = scheduler.step(modelOutput: output, timestep: 501, sample: sample).previousSample
        #expect(first.scalars != deterministic.scalars)
    }

    @Test func timestepOutsideTheTrainingRangeStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor.zeros([1, 4, 8, 8])
            _ = DDIMScheduler().step(modelOutput: x, timestep: 1000, sample: x)
        }
        let message = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(message.contains("timestep 1000 is outside the training range 0..<1000"), "message: \(message)")
        await #expect(processExitsWith: .failure) {
            let x = Tensor.zeros([1, 4, 8, 8])
            _ = DDIMScheduler().addNoise(original: x, noise: x, timestep: -1)
        }
        // leading spacing with steps_offset 1 and 1000 steps would reach timestep 1000.
        let offset = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = DDIMScheduler(configuration: .stableDiffusionV14, inferenceStepCount: 1000)
        }
        let offsetMessage = offset.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(offsetMessage.contains("timestep 1000"), "message: \(offsetMessage)")
        await #expect(processExitsWith: .failure) { _ = DDIMScheduler(inferenceStepCount: 0) }
    }

    @Test func badShapesAndMissingNoiseStop() async {
        await #expect(processExitsWith: .failure) {
            _ = DDIMScheduler().step(modelOutput: Tensor.zeros([1, 4, 8, 8]), timestep: 1, sample: Tensor.zeros([1, 4, 8, 9]))
        }
        await #expect(processExitsWith: .failure) {
            let x = Tensor.zeros([1, 4, 8, 8])
            _ = DDIMScheduler().step(modelOutput: x, timestep: 1, sample: x, eta: 1, varianceNoise: nil)
        }
        await #expect(processExitsWith: .failure) {
            let x = Tensor.zeros([3, 4, 8, 8])
            _ = DDIMScheduler().addNoise(original: x, noise: x, timesteps: [1, 2])
        }
    }
}
