import Tensor

/// The DDIM sampler (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models").
///
/// This implementation matches diffusers' `DDIMScheduler` (0.42, `schedulers/scheduling_ddim.py`):
/// the same betas and ᾱ (float32, bit for bit), the same timesteps for every
/// ``TimestepSpacing``, and the same `step` and `add_noise` arithmetic, each scalar coefficient
/// rounded to float32 in diffusers' order. A value fixes its number of inference steps (diffusers'
/// `set_timesteps`) at creation.
///
/// ```swift
/// let scheduler = DDIMScheduler(configuration: .stableDiffusionV14, inferenceStepCount: 50)
/// scheduler.timesteps  // [981, 961, …, 21, 1]
/// var x = scheduler.addNoise(original: x0, noise: noise, timestep: 41)
/// for t in scheduler.timesteps.suffix(3) {   // 41, 21, 1
///     x = scheduler.step(modelOutput: model(x, t), timestep: t, sample: x).previousSample
/// }
/// ```
///
/// A step goes from t to `t − T div S` (T training, S inference steps), as diffusers, whatever the
/// spacing: with `trailing` or `linspace` spacing and S not dividing T, that is not always the next
/// listed timestep. Before the first training step ᾱ is 1 (`set_alpha_to_one`) or ᾱ₀.
///
/// `step` and `addNoise` are built from differentiable `Tensor` operations, so gradients flow to
/// `modelOutput`, `sample`, `original` and `noise` (dynamic thresholding treats its per-sample
/// threshold as a constant).
///
/// **Limitations**
/// - No `use_clipped_model_output` (diffusers' pipelines never set it) and no `get_velocity`.
/// - The variance noise of η > 0 comes from `RandomGenerator` or is passed in; Grain does not
///   reproduce PyTorch's random streams, so a seeded diffusers run is matched by passing its noise.
/// - Timesteps are `Int`s on the training grid; no fractional or custom timestep lists.
public struct DDIMScheduler: Scheduler {
    /// The configuration, in diffusers' terms.
    public let configuration: DDIMSchedulerConfiguration
    /// The number of inference steps S (diffusers' `num_inference_steps`).
    public let inferenceStepCount: Int
    /// β_t for t in `0..<T`, float32 (diffusers' `betas`).
    public let betas: [Float]
    /// ᾱ_t for t in `0..<T`, float32 (diffusers' `alphas_cumprod`).
    public let alphasCumulativeProduct: [Float]
    /// ᾱ before the first training step: 1 with `set_alpha_to_one`, else ᾱ₀ (`final_alpha_cumprod`).
    public let finalAlphaCumulativeProduct: Float
    /// The S inference timesteps, largest first.
    public let timesteps: [Int]

    /// The number of training steps T.
    public var trainingStepCount: Int { configuration.trainingStepCount }

    /// The distance of one step in training timesteps, `T div S`.
    public var stepRatio: Int { configuration.trainingStepCount / inferenceStepCount }

    /// Creates a scheduler with `inferenceStepCount` steps (diffusers' `DDIMScheduler(**config)`
    /// followed by `set_timesteps(inferenceStepCount)`).
    ///
    /// Stops with a message when the step count is outside `1...T`, a value is not finite, or a
    /// timestep falls outside `0..<T` (`leading` spacing with a large `steps_offset`).
    public init(configuration: DDIMSchedulerConfiguration = .stableDiffusionV14, inferenceStepCount: Int = 50) {
        let t = configuration.trainingStepCount
        precondition(t > 0, "DDIMScheduler: num_train_timesteps \(t) must be positive")
        precondition(inferenceStepCount >= 1 && inferenceStepCount <= t,
                     "DDIMScheduler: \(inferenceStepCount) inference steps; must be in 1...\(t) (num_train_timesteps)")
        precondition(configuration.clipSampleRange.isFinite && configuration.clipSampleRange >= 0,
                     "DDIMScheduler: clip_sample_range \(configuration.clipSampleRange) must be finite and non-negative")
        precondition(configuration.dynamicThresholdingRatio > 0 && configuration.dynamicThresholdingRatio <= 1,
                     "DDIMScheduler: dynamic_thresholding_ratio \(configuration.dynamicThresholdingRatio) must be in (0, 1]")
        precondition(configuration.sampleMaxValue >= 1,
                     "DDIMScheduler: sample_max_value \(configuration.sampleMaxValue) must be at least 1")
        self.configuration = configuration
        self.inferenceStepCount = inferenceStepCount
        betas = configuration.betas
        precondition(betas.allSatisfy { $0.isFinite }, "DDIMScheduler: the betas are not all finite")
        alphasCumulativeProduct = TorchArithmetic.cumulativeProduct(betas.map { 1 - $0 })
        finalAlphaCumulativeProduct = configuration.setAlphaToOne ? 1 : alphasCumulativeProduct[0]
        timesteps = configuration.timesteps(inferenceStepCount: inferenceStepCount)
        if let outside = timesteps.first(where: { !(0..<t).contains($0) }) {
            preconditionFailure("DDIMScheduler: timestep \(outside) (\(configuration.timestepSpacing.rawValue) spacing, steps_offset \(configuration.stepsOffset), \(inferenceStepCount) steps) is outside the training range 0..<\(t)")
        }
    }

    /// The timestep a step from `timestep` goes to, `timestep − T div S` (negative before the first
    /// training step), as diffusers' `prev_timestep`.
    public func previousTimestep(before timestep: Int) -> Int { timestep - stepRatio }

    /// ᾱ at `timestep`, or ``finalAlphaCumulativeProduct`` for a negative timestep.
    public func alphaCumulativeProduct(at timestep: Int) -> Float {
        checkTimestep(timestep, allowNegative: true, "alphaCumulativeProduct")
        return timestep >= 0 ? alphasCumulativeProduct[timestep] : finalAlphaCumulativeProduct
    }

    /// σ²_t of a step from `timestep` to `previousTimestep`, as diffusers' `_get_variance`:
    /// `(1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)`.
    public func variance(timestep: Int, previousTimestep: Int) -> Float {
        let alphaProduct = alphaCumulativeProduct(at: timestep)
        let alphaProductPrevious = alphaCumulativeProduct(at: previousTimestep)
        let betaProduct = 1 - alphaProduct, betaProductPrevious = 1 - alphaProductPrevious
        return (betaProductPrevious / betaProduct) * (1 - alphaProduct / alphaProductPrevious)
    }

    /// x_t from x₀ and ε, as diffusers' `add_noise`: `√ᾱ_t · x₀ + √(1−ᾱ_t) · ε`, each coefficient in
    /// float32, per sample when `timesteps` has one value per sample (`[B]`) or shared (`[1]`).
    public func addNoise(original: Tensor, noise: Tensor, timesteps: [Int]) -> Tensor {
        precondition(original.shape == noise.shape,
                     "DDIMScheduler.addNoise: original \(original.shape) and noise \(noise.shape) differ in shape")
        precondition(original.shape.count >= 1 && (timesteps.count == 1 || timesteps.count == original.shape[0]),
                     "DDIMScheduler.addNoise: \(timesteps.count) timesteps for original \(original.shape); give 1 or one per sample")
        for t in timesteps { checkTimestep(t, allowNegative: false, "addNoise") }
        let coefficientShape = [timesteps.count] + [Int](repeating: 1, count: original.shape.count - 1)
        let signal = Tensor(shape: coefficientShape, scalars: timesteps.map { alphasCumulativeProduct[$0].squareRoot() })
        let noiseScale = Tensor(shape: coefficientShape, scalars: timesteps.map { (1 - alphasCumulativeProduct[$0]).squareRoot() })
        return signal * original + noiseScale * noise
    }

    /// One DDIM step (Song et al. 2021, eq. 12), as diffusers' `DDIMScheduler.step`.
    ///
    /// With ᾱ = ᾱ_t, ᾱ′ = ᾱ at ``previousTimestep(before:)`` and the model's x̂₀ and ε̂ (from
    /// `modelOutput` by ``DDIMSchedulerConfiguration/predictionType``; x̂₀ clipped or thresholded
    /// when configured): `σ = η √variance`, `x_prev = √ᾱ′ x̂₀ + √(1 − ᾱ′ − σ²) ε̂ + σ z`.
    ///
    /// - Parameters:
    ///   - modelOutput: the model's output for `sample`, shaped like it.
    ///   - timestep: t, in `0..<T`.
    ///   - sample: x_t, `[B, …]` (`[B, C, H, W]` for images).
    ///   - eta: η ≥ 0.
    ///   - varianceNoise: z, standard normal, shaped like `sample`; required when `eta > 0`.
    public func step(modelOutput: Tensor, timestep: Int, sample: Tensor, eta: Float, varianceNoise: Tensor?) -> SchedulerStepOutput {
        precondition(modelOutput.shape == sample.shape,
                     "DDIMScheduler.step: modelOutput \(modelOutput.shape) and sample \(sample.shape) differ in shape")
        precondition(eta >= 0 && eta.isFinite, "DDIMScheduler.step: eta \(eta) must be finite and non-negative")
        checkTimestep(timestep, allowNegative: false, "step")
        let previous = previousTimestep(before: timestep)
        let alphaProduct = alphasCumulativeProduct[timestep]
        let alphaProductPrevious = alphaCumulativeProduct(at: previous)
        let betaProduct = 1 - alphaProduct
        let alphaRoot = alphaProduct.squareRoot(), betaRoot = betaProduct.squareRoot()

        var predictedOriginal: Tensor, predictedEpsilon: Tensor
        switch configuration.predictionType {
        case .epsilon:
            predictedOriginal = (sample - betaRoot * modelOutput) / alphaRoot
            predictedEpsilon = modelOutput
        case .sample:
            predictedOriginal = modelOutput
            predictedEpsilon = (sample - alphaRoot * predictedOriginal) / betaRoot
        case .velocity:
            predictedOriginal = alphaRoot * sample - betaRoot * modelOutput
            predictedEpsilon = alphaRoot * modelOutput + betaRoot * sample
        }
        if configuration.thresholding {
            predictedOriginal = DDIMScheduler.dynamicallyThresholded(
                predictedOriginal, ratio: Float(configuration.dynamicThresholdingRatio),
                maximum: Float(configuration.sampleMaxValue))
        } else if configuration.clipSample {
            let range = Float(configuration.clipSampleRange)
            predictedOriginal = predictedOriginal.clamped(min: -range, max: range)
        }

        let standardDeviation = eta * variance(timestep: timestep, previousTimestep: previous).squareRoot()
        let direction = (1 - alphaProductPrevious - standardDeviation * standardDeviation).squareRoot() * predictedEpsilon
        var previousSample = alphaProductPrevious.squareRoot() * predictedOriginal + direction
        if eta > 0 {
            guard let varianceNoise else {
                preconditionFailure("DDIMScheduler.step: eta \(eta) > 0 needs varianceNoise (or use step(…, using: &generator))")
            }
            precondition(varianceNoise.shape == sample.shape,
                         "DDIMScheduler.step: varianceNoise \(varianceNoise.shape) is not shaped like sample \(sample.shape)")
            previousSample = previousSample + standardDeviation * varianceNoise
        }
        return SchedulerStepOutput(previousSample: previousSample, predictedOriginalSample: predictedOriginal)
    }

    private func checkTimestep(_ timestep: Int, allowNegative: Bool, _ operation: String) {
        let t = configuration.trainingStepCount
        precondition(timestep < t && (allowNegative || timestep >= 0),
                     "DDIMScheduler.\(operation): timestep \(timestep) is outside the training range 0..<\(t)")
    }
}
