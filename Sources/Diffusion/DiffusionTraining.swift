import Foundation
import NN
import Tensor

/// Settings shared by ``AutoencoderTrainer`` and ``UNetTrainer``.
public struct DiffusionTrainingSettings: Sendable, Codable, Equatable {
    /// Optimisation steps of the whole run.
    public var steps: Int
    /// Crops per step.
    public var batchSize: Int
    /// Side of the square training crops in pixels (a multiple of the model's size multiple).
    public var cropSize: Int
    /// Adam's (fixed) learning rate.
    public var learningRate: Float
    /// Write a checkpoint every this many steps (and at the end).
    public var checkpointInterval: Int
    /// Seeds the initial weights and every step's crops, noise and timesteps.
    public var seed: UInt64

    /// Creates settings.
    ///
    /// - Precondition: positive steps, batch size, crop size and interval; a finite positive learning rate.
    public init(steps: Int = 1000, batchSize: Int = 8, cropSize: Int = 32, learningRate: Float = 1e-3,
                checkpointInterval: Int = 100, seed: UInt64 = 0) {
        precondition(steps > 0 && batchSize > 0 && cropSize > 0 && checkpointInterval > 0,
                     "DiffusionTrainingSettings: steps \(steps), batch size \(batchSize), crop size \(cropSize) and interval \(checkpointInterval) must be positive")
        precondition(learningRate > 0 && learningRate.isFinite, "DiffusionTrainingSettings: learning rate \(learningRate) must be finite and positive")
        self.steps = steps
        self.batchSize = batchSize
        self.cropSize = cropSize
        self.learningRate = learningRate
        self.checkpointInterval = checkpointInterval
        self.seed = seed
    }

    /// The settings a checkpoint must match to be resumed: all but ``steps``, so a finished run
    /// can be extended by asking for more steps.
    var resumeIdentity: DiffusionTrainingSettings {
        var identity = self
        identity.steps = 0
        return identity
    }

    /// The generator of step `step` (from 0) of the model whose steps draw from `steps`
    /// (``DiffusionStreams/autoencoderSteps`` or ``DiffusionStreams/unetSteps``): stream `step`
    /// under that stream's derived seed, so it depends on the seed, the model and the step alone
    /// and a resumed run draws what an uninterrupted one would.
    func generator(forStep step: Int, of steps: UInt64) -> RandomGenerator {
        RandomGenerator(seed: RandomGenerator.derivedSeed(seed, stream: steps), stream: UInt64(step))
    }
}

/// One step's losses (a row of `loss.csv`).
public struct TrainingLossRecord: Sendable, Codable, Equatable {
    /// The step, from 1.
    public var step: Int
    /// The total loss, then its terms in the trainer's column order.
    public var values: [Float]
}

/// What a trainer reports after each step.
public struct DiffusionTrainingProgress: Sendable {
    /// Steps done (including those before a resume).
    public var step: Int
    /// Steps of the whole run.
    public var totalSteps: Int
    /// The step's total loss.
    public var loss: Float
}

extension TrainingCheckpoints {
    /// Writes a checkpoint whose metadata holds `configuration` (canonical JSON) and the loss history.
    func write(model: Module, optimizer: Adam, step: Int, configuration: String, losses: [TrainingLossRecord]) throws {
        try write(model: model, optimizer: optimizer, step: step,
                  metadata: ["configuration": configuration, "losses": String(decoding: try JSONEncoder().encode(losses), as: UTF8.self)])
    }

    /// Resumes from the newest checkpoint if it was written with exactly `configuration`;
    /// returns its step and losses, or `nil` when there is none.
    func resume(model: Module, optimizer: inout Adam, configuration: String) throws -> (step: Int, losses: [TrainingLossRecord])? {
        guard let (step, metadata) = try resume(model: model, optimizer: &optimizer, accepting: { $0["configuration"] == configuration })
        else { return nil }
        let losses = try metadata["losses"].map { try JSONDecoder().decode([TrainingLossRecord].self, from: Data($0.utf8)) } ?? []
        return (step, losses)
    }

    /// Rewrites `loss.csv` with a header `step,<columns>`.
    func writeLosses(_ losses: [TrainingLossRecord], columns: [String]) throws {
        let rows = losses.map { ([String($0.step)] + $0.values.map { String($0) }).joined(separator: ",") }
        let text = ([(["step"] + columns).joined(separator: ",")] + rows).joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(text.utf8), to: folder.appendingPathComponent("loss.csv"))
    }
}

/// Sorted-key JSON of a value, for checkpoint metadata that must compare equal across runs.
func canonicalJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
