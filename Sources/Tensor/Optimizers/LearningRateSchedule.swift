import Foundation

/// A learning rate as a function of the optimizer step, for setting
/// ``Optimizer/learningRate`` before each step.
///
/// `step` counts optimizer steps from 0: the rate for the `step`-th update is
/// `learningRate(atStep: step)`, which equals PyTorch's scheduler value after `step` calls of
/// `scheduler.step()` (its `last_epoch`).
public protocol LearningRateSchedule: Sendable {
    /// The learning rate for the optimizer step `step` (counted from 0).
    func learningRate(atStep step: Int) -> Float
}

/// A learning rate that never changes.
public struct ConstantLearningRate: LearningRateSchedule {
    /// The learning rate at every step.
    public let value: Float

    /// Creates the schedule. - Precondition: `value ≥ 0`.
    public init(_ value: Float) {
        precondition(value >= 0, "ConstantLearningRate: invalid learning rate \(value)")
        self.value = value
    }

    /// `value`, whatever the step.
    public func learningRate(atStep step: Int) -> Float { value }
}

/// Decays the learning rate by `gamma` every `stepSize` steps, as PyTorch's `StepLR`:
/// `initial · gamma^⌊step / stepSize⌋`.
public struct StepLearningRate: LearningRateSchedule {
    /// The learning rate at step 0.
    public let initial: Float
    /// The number of steps between two decays.
    public let stepSize: Int
    /// The multiplicative decay factor.
    public let gamma: Float

    /// Creates the schedule; `gamma` defaults to PyTorch's 0.1.
    ///
    /// - Precondition: `initial ≥ 0`, `stepSize > 0`, `gamma ≥ 0`.
    public init(initial: Float, stepSize: Int, gamma: Float = 0.1) {
        precondition(initial >= 0, "StepLearningRate: invalid initial learning rate \(initial)")
        precondition(stepSize > 0, "StepLearningRate: stepSize must be positive, got \(stepSize)")
        precondition(gamma >= 0, "StepLearningRate: invalid gamma \(gamma)")
        self.initial = initial
        self.stepSize = stepSize
        self.gamma = gamma
    }

    /// `initial · gamma^⌊step / stepSize⌋`. - Precondition: `step ≥ 0`.
    public func learningRate(atStep step: Int) -> Float {
        precondition(step >= 0, "StepLearningRate: negative step \(step)")
        return Float(Double(initial) * Foundation.pow(Double(gamma), Double(step / stepSize)))
    }
}

/// Cosine annealing from `initial` down to `minimum` over `totalSteps` steps, as PyTorch's
/// `CosineAnnealingLR` in its closed form:
/// `minimum + (initial − minimum) · (1 + cos(π · step / totalSteps)) / 2`.
///
/// Past `totalSteps` the closed form keeps following the cosine (rising again), as PyTorch's
/// does; stop training at `totalSteps` or clamp the step for a flat tail.
public struct CosineAnnealingLearningRate: LearningRateSchedule {
    /// The learning rate at step 0.
    public let initial: Float
    /// The number of steps of one half cosine period (PyTorch's `T_max`).
    public let totalSteps: Int
    /// The learning rate at `totalSteps` (PyTorch's `eta_min`).
    public let minimum: Float

    /// Creates the schedule. - Precondition: `initial, minimum ≥ 0`, `totalSteps > 0`.
    public init(initial: Float, totalSteps: Int, minimum: Float = 0) {
        precondition(initial >= 0, "CosineAnnealingLearningRate: invalid initial learning rate \(initial)")
        precondition(minimum >= 0, "CosineAnnealingLearningRate: invalid minimum learning rate \(minimum)")
        precondition(totalSteps > 0, "CosineAnnealingLearningRate: totalSteps must be positive, got \(totalSteps)")
        self.initial = initial
        self.totalSteps = totalSteps
        self.minimum = minimum
    }

    /// `minimum + (initial − minimum) · (1 + cos(π · step / totalSteps)) / 2`. - Precondition: `step ≥ 0`.
    public func learningRate(atStep step: Int) -> Float {
        precondition(step >= 0, "CosineAnnealingLearningRate: negative step \(step)")
        let low = Double(minimum), high = Double(initial)
        return Float(low + (high - low) * (1 + Foundation.cos(Double.pi * Double(step) / Double(totalSteps))) / 2)
    }
}
