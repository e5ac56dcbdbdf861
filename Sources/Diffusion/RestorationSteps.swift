import Tensor

/// The restoration loop as a sequence the caller drives: each ``next()`` runs the denoiser once and
/// takes one scheduler step, as the loop of diffusers' pipelines does
/// (`for t in timesteps: x = scheduler.step(unet(x, t), t, x).prev_sample`).
///
/// ```swift
/// var steps = pipeline.steps(restoring: latents, level: try NoiseLevel(5), seeds: [42])
/// for step in steps { print("step \(step.index + 1)/\(step.stepCount) at t = \(step.timestep)") }
/// ```
///
/// Stop iterating to cancel; ``sample`` is the current x at any point. Runs without recording
/// gradients.
public struct RestorationSteps<Model: Denoiser>: Sequence, IteratorProtocol {
    /// The model that predicts the noise.
    public let denoiser: Model
    /// The scheduler whose `step` is taken.
    public let scheduler: any Scheduler
    /// The timesteps still to run and those already run, in order, largest first.
    public let timesteps: [Int]
    /// The weight η of the noise each step adds.
    public let eta: Float
    /// The current sample: the corrupted input before the first step, the restoration after the last.
    public private(set) var sample: Tensor
    /// How many steps have run.
    public private(set) var completedStepCount = 0
    /// One generator per sample for the variance noise of η > 0 (empty when η = 0).
    private var generators: [RandomGenerator]

    /// Starts a loop from `corrupted` over `timesteps`.
    ///
    /// - Parameters:
    ///   - denoiser: the model.
    ///   - scheduler: the scheduler; every timestep must be in its training range.
    ///   - corrupted: x_t at `timesteps[0]`, `[B, C, H, W]`.
    ///   - timesteps: the timesteps to run, largest first (``NoiseLevel/timesteps(in:)``).
    ///   - eta: η ≥ 0.
    ///   - generators: one per sample, drawing each step's variance noise; needed only when η > 0.
    public init(denoiser: Model, scheduler: any Scheduler, corrupted: Tensor, timesteps: [Int], eta: Float = 0,
                generators: [RandomGenerator] = []) {
        precondition(corrupted.shape.count == 4 && corrupted.shape[0] >= 1,
                     "RestorationSteps: the sample must be [B, C, H, W]; got \(corrupted.shape)")
        precondition(eta == 0 || generators.count == corrupted.shape[0],
                     "RestorationSteps: eta \(eta) > 0 needs one generator per sample; got \(generators.count) for \(corrupted.shape[0])")
        precondition(timesteps.allSatisfy { (0..<scheduler.trainingStepCount).contains($0) },
                     "RestorationSteps: timesteps \(timesteps) are not all in the training range 0..<\(scheduler.trainingStepCount)")
        self.denoiser = denoiser
        self.scheduler = scheduler
        self.timesteps = timesteps
        self.eta = eta
        self.sample = corrupted.detached()
        self.generators = eta > 0 ? generators : []
    }

    /// The number of steps in the loop.
    public var stepCount: Int { timesteps.count }

    /// Whether every step has run.
    public var isFinished: Bool { completedStepCount == timesteps.count }

    /// Runs the next step and returns it, or `nil` when every step has run.
    public mutating func next() -> RestorationStep? {
        guard !isFinished else { return nil }
        let timestep = timesteps[completedStepCount]
        let output: SchedulerStepOutput = Tensor.withoutGradient {
            let prediction = denoiser.modelOutput(for: sample, timestep: timestep)
            precondition(prediction.shape == sample.shape,
                         "RestorationSteps: the denoiser returned \(prediction.shape) for a sample \(sample.shape)")
            var noise: Tensor?
            if eta > 0 {
                let perSample = Array(sample.shape.dropFirst())
                noise = Tensor.stack(generators.indices.map { Tensor.randomNormal(perSample, using: &generators[$0]) })
            }
            return scheduler.step(modelOutput: prediction, timestep: timestep, sample: sample, eta: eta, varianceNoise: noise)
        }
        sample = output.previousSample
        completedStepCount += 1
        return RestorationStep(index: completedStepCount - 1, stepCount: timesteps.count, timestep: timestep,
                               sample: output.previousSample, predictedOriginalSample: output.predictedOriginalSample)
    }

    /// Runs every remaining step and returns the final sample.
    public mutating func finish() -> Tensor {
        while next() != nil {}
        return sample
    }
}

/// One step of a ``RestorationSteps`` loop.
public struct RestorationStep: Sendable {
    /// The step's position, from 0.
    public let index: Int
    /// The number of steps in the loop.
    public let stepCount: Int
    /// The timestep the denoiser ran at.
    public let timestep: Int
    /// The sample after the step, `[B, C, H, W]`.
    public let sample: Tensor
    /// The scheduler's estimate of the clean sample at this step, `[B, C, H, W]`.
    public let predictedOriginalSample: Tensor
}
