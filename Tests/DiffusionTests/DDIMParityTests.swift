import Foundation
import Testing
import Tensor
import GrainTestSupport
import Diffusion

/// Parity with diffusers' `DDIMScheduler` against Fixtures/ddim.safetensors, written by
/// Scripts/reference/ddim_fixtures.py: betas, ᾱ, timesteps for 8 step counts, `step` and `add_noise`,
/// for six configurations (SD v1.4 with each prediction type, linear/trailing/v, cosine/linspace/
/// sample with clipping, zero-SNR/trailing/v with thresholding). Configurations are decoded from
/// the JSON diffusers wrote, so the coding keys are checked too.
@Suite struct DDIMParityTests {
    struct StepCase: Decodable {
        let name: String, config: String, steps: Int, timestep: Int, eta: Float
    }
    struct AddNoiseCase: Decodable {
        let name: String, config: String, timesteps: [Int]
    }

    static let file: SafeTensors = {
        do { return try SafeTensors(contentsOf: URL(fileURLWithPath: fixturesDirectory() + "/ddim.safetensors")) }
        catch { fatalError("cannot read ddim.safetensors: \(error)") }
    }()

    /// The configurations, decoded from diffusers' JSON.
    static let configurations: [String: DDIMSchedulerConfiguration] = {
        let json = try! JSONSerialization.jsonObject(with: Data(file.metadata["configs"]!.utf8)) as! [String: Any]
        return json.mapValues { value in
            let data = try! JSONSerialization.data(withJSONObject: value)
            return try! JSONDecoder().decode(DDIMSchedulerConfiguration.self, from: data)
        }
    }()

    static func metadata<T: Decodable>(_ key: String, as type: T.Type) -> T {
        try! JSONDecoder().decode(T.self, from: Data(file.metadata[key]!.utf8))
    }

    static func tensor(_ name: String) -> Tensor { try! file.tensor(named: name) }

    /// Largest relative difference of two float arrays (relative to |expected|, 1e-30 floor).
    static func maximumRelativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) / max(abs($1), 1e-30) }.max() ?? 0
    }

    @Test func configurationsDecodeFromDiffusersJSON() {
        #expect(Self.configurations.count == 6)
        #expect(Self.configurations["sd14"] == .stableDiffusionV14)
        let cosine = Self.configurations["cosine_linspace_sample"]!
        #expect(cosine.betaSchedule == .squaredCosineCapV2 && cosine.timestepSpacing == .linspace)
        #expect(cosine.predictionType == .sample && cosine.clipSample && cosine.clipSampleRange == 1.5 && cosine.setAlphaToOne)
        let zeroSNR = Self.configurations["zero_snr_thresholding"]!
        #expect(zeroSNR.rescaleBetasZeroSNR && zeroSNR.thresholding && zeroSNR.dynamicThresholdingRatio == 0.9)
        #expect(Self.configurations["linear_trailing_v"]!.predictionType == .velocity)
    }

    @Test(arguments: ["sd14", "sd14_v_prediction", "sd14_sample", "linear_trailing_v", "cosine_linspace_sample", "zero_snr_thresholding"])
    func betasAlphasAndTimesteps(_ name: String) {
        let configuration = Self.configurations[name]!
        let scheduler = DDIMScheduler(configuration: configuration, inferenceStepCount: 50)
        let betas = Self.tensor("\(name).betas").scalars
        let alphas = Self.tensor("\(name).alphas_cumprod").scalars
        let betaDifference = Self.maximumRelativeDifference(scheduler.betas, betas)
        let alphaDifference = Self.maximumRelativeDifference(scheduler.alphasCumulativeProduct, alphas)
        let identical = zip(scheduler.alphasCumulativeProduct, alphas).filter { $0 == $1 }.count
        print("[parity] \(name): betas max rel \(betaDifference), alphas_cumprod max rel \(alphaDifference), \(identical)/\(alphas.count) bit-identical")
        if configuration.rescaleBetasZeroSNR {
            // PyTorch's float32 sqrt (AVX-512 kernel) is not correctly rounded: about one value in
            // five is an ulp off. Rescaling takes √ᾱ, so ᾱ differs by a few ulps, and the betas
            // (1 − ᾱ_t/ᾱ_{t−1}, a cancellation) by up to 3e-6 absolutely.
            #expect(closeness(scheduler.betas, betas, rtol: 0, atol: 1e-5).2)
            #expect(closeness(scheduler.alphasCumulativeProduct, alphas, rtol: 1e-5, atol: 1e-6).2)
        } else {
            #expect(betaDifference <= 1e-6)
            #expect(alphaDifference <= 1e-6)
        }
        #expect(scheduler.finalAlphaCumulativeProduct == Self.tensor("\(name).final_alpha_cumprod").scalars[0])
        for count in [50, 20, 7, 1, 3, 99, 333, 999] {
            let expected = Self.tensor("\(name).timesteps.\(count)").scalars.map { Int($0) }
            #expect(configuration.timesteps(inferenceStepCount: count) == expected, "\(name), \(count) steps")
        }
        #expect(scheduler.timesteps == Self.tensor("\(name).timesteps.50").scalars.map { Int($0) })
    }

    @Test func everyStepCase() {
        let cases = Self.metadata("cases", as: [StepCase].self)
        #expect(cases.count == 42)
        var worst: Float = 0
        for c in cases {
            let scheduler = DDIMScheduler(configuration: Self.configurations[c.config]!, inferenceStepCount: c.steps)
            let noise = c.eta > 0 ? Self.tensor("\(c.name).variance_noise") : nil
            let output = scheduler.step(modelOutput: Self.tensor("\(c.name).model_output"), timestep: c.timestep,
                                        sample: Self.tensor("\(c.name).sample"), eta: c.eta, varianceNoise: noise)
            let expectedPrevious = Self.tensor("\(c.name).prev_sample")
            let expectedOriginal = Self.tensor("\(c.name).pred_original_sample")
            expectClose(output.previousSample, expectedPrevious, rtol: 1e-4, atol: 1e-6, "\(c.name) prev_sample")
            expectClose(output.predictedOriginalSample, expectedOriginal, rtol: 1e-4, atol: 1e-6, "\(c.name) pred_original_sample")
            worst = max(worst, closeness(output.previousSample.scalars, expectedPrevious.scalars, rtol: 0, atol: 0).1,
                        closeness(output.predictedOriginalSample.scalars, expectedOriginal.scalars, rtol: 0, atol: 0).1)
        }
        print("[parity] DDIM step, \(cases.count) cases: worst relative difference \(worst)")
    }

    @Test func everyAddNoiseCase() {
        let cases = Self.metadata("add_noise", as: [AddNoiseCase].self)
        #expect(cases.count == 6)
        for c in cases {
            let scheduler = DDIMScheduler(configuration: Self.configurations[c.config]!)
            let noisy = scheduler.addNoise(original: Self.tensor("\(c.name).original"), noise: Self.tensor("\(c.name).noise"),
                                           timesteps: c.timesteps)
            expectClose(noisy, Self.tensor("\(c.name).noisy"), rtol: 1e-4, atol: 1e-6, c.name)
        }
    }
}
