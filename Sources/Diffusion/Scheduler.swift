import Tensor

/// A diffusion sampler: the forward process (``addNoise(original:noise:timesteps:)``) and one
/// reverse step at a time (``step(modelOutput:timestep:sample:eta:varianceNoise:)``), over a fixed
/// list of inference ``timesteps``.
///
/// The names follow diffusers' schedulers; ``DDIMScheduler`` is the implementation.
public protocol Scheduler: Sendable {
    /// The number of diffusion steps the model was trained with, T; every timestep is in `0..<T`.
    var trainingStepCount: Int { get }
    /// The inference timesteps, largest (noisiest) first, as diffusers' `scheduler.timesteps`.
    var timesteps: [Int] { get }
    /// ᾱ_t = ∏_{s≤t} (1 − β_s) for t in `0..<T` (diffusers' `alphas_cumprod`), in float32 as diffusers.
    var alphasCumulativeProduct: [Float] { get }

    /// The forward process `x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε`, as diffusers' `add_noise`.
    ///
    /// - Parameters:
    ///   - original: x₀, `[B, …]`.
    ///   - noise: ε, shaped like `original`.
    ///   - timesteps: one timestep for the whole batch, or one per sample (B values).
    /// - Returns: x_t, shaped like `original`.
    func addNoise(original: Tensor, noise: Tensor, timesteps: [Int]) -> Tensor

    /// One reverse step from `timestep` to the previous inference timestep, as diffusers' `step`.
    ///
    /// - Parameters:
    ///   - modelOutput: the model's prediction for `sample` at `timestep`, shaped like `sample`.
    ///   - timestep: the current timestep t.
    ///   - sample: x_t, `[B, …]`.
    ///   - eta: the weight η of the noise added by the step (0: deterministic DDIM, 1: DDPM).
    ///   - varianceNoise: standard normal noise shaped like `sample`; required when `eta > 0`.
    /// - Returns: x_{t−Δ} and the predicted x₀.
    func step(modelOutput: Tensor, timestep: Int, sample: Tensor, eta: Float, varianceNoise: Tensor?) -> SchedulerStepOutput
}

/// The result of ``Scheduler/step(modelOutput:timestep:sample:eta:varianceNoise:)``, as diffusers'
/// `DDIMSchedulerOutput`.
public struct SchedulerStepOutput: Sendable {
    /// The sample at the previous timestep, x_{t−Δ} (`prev_sample`): the next input of the loop.
    public var previousSample: Tensor
    /// The model's estimate of the clean sample x₀ at this step (`pred_original_sample`).
    public var predictedOriginalSample: Tensor

    /// Creates an output from its two samples.
    public init(previousSample: Tensor, predictedOriginalSample: Tensor) {
        self.previousSample = previousSample
        self.predictedOriginalSample = predictedOriginalSample
    }
}

extension Scheduler {
    /// ``addNoise(original:noise:timesteps:)`` with one timestep for the whole batch.
    public func addNoise(original: Tensor, noise: Tensor, timestep: Int) -> Tensor {
        addNoise(original: original, noise: noise, timesteps: [timestep])
    }

    /// A deterministic step (η = 0).
    public func step(modelOutput: Tensor, timestep: Int, sample: Tensor) -> SchedulerStepOutput {
        step(modelOutput: modelOutput, timestep: timestep, sample: sample, eta: 0, varianceNoise: nil)
    }

    /// A step with weight `eta`, its variance noise drawn from `generator` (standard normal, shaped
    /// like `sample`) when `eta > 0`.
    public func step<G: RandomNumberGenerator>(modelOutput: Tensor, timestep: Int, sample: Tensor, eta: Float,
                                              using generator: inout G) -> SchedulerStepOutput {
        let noise = eta > 0 ? Tensor.randomNormal(sample.shape, using: &generator) : nil
        return step(modelOutput: modelOutput, timestep: timestep, sample: sample, eta: eta, varianceNoise: noise)
    }
}
