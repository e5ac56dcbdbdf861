import Foundation

/// Settings of a training run, validated on creation and on decoding (a checkpoint's recorded
/// configuration included).
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    /// The task and its loss.
    public var task: TrainingTask
    /// Adam's learning rate (fixed; the paper uses 1e-5); finite and ≥ 0.
    public var learningRate: Float
    /// Images per step; ≥ 1.
    public var batchSize: Int
    /// Side of the random training crops in pixels; a positive multiple of 16.
    public var cropSize: Int
    /// Passes over the training samples; ≥ 1.
    public var epochs: Int
    /// Write a checkpoint every this many steps (and at the end of each epoch); ≥ 1.
    public var checkpointInterval: Int
    /// Seeds batch order, crops and heads.
    public var seed: UInt64

    /// Creates a configuration (the paper's learning rate; small crops and batches for a CPU).
    ///
    /// - Throws: ``TrainingConfigurationError`` naming the first setting out of range.
    public init(task: TrainingTask = .pretext(PretextLoss()), learningRate: Float = 1e-5, batchSize: Int = 8, cropSize: Int = 64,
                epochs: Int = 1, checkpointInterval: Int = 100, seed: UInt64 = 0) throws(TrainingConfigurationError) {
        self.task = task
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.cropSize = cropSize
        self.epochs = epochs
        self.checkpointInterval = checkpointInterval
        self.seed = seed
        try validate()
    }

    /// Decodes a configuration and validates it as ``init(task:learningRate:batchSize:cropSize:epochs:checkpointInterval:seed:)``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        task = try c.decode(TrainingTask.self, forKey: .task)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        cropSize = try c.decode(Int.self, forKey: .cropSize)
        epochs = try c.decode(Int.self, forKey: .epochs)
        checkpointInterval = try c.decode(Int.self, forKey: .checkpointInterval)
        seed = try c.decode(UInt64.self, forKey: .seed)
        try validate()
    }

    /// Throws for the first setting out of its documented range.
    public func validate() throws(TrainingConfigurationError) {
        func check(_ ok: Bool, _ setting: String, _ value: Any, _ requirement: String) throws(TrainingConfigurationError) {
            if !ok { throw .invalid(setting: setting, value: "\(value)", requirement: requirement) }
        }
        try check(learningRate.isFinite && learningRate >= 0, "learningRate", learningRate, "finite and ≥ 0")
        try check(batchSize >= 1, "batchSize", batchSize, "≥ 1")
        try check(cropSize >= 16 && cropSize % 16 == 0, "cropSize", cropSize, "a positive multiple of 16")
        try check(epochs >= 1, "epochs", epochs, "≥ 1")
        try check(checkpointInterval >= 1, "checkpointInterval", checkpointInterval, "≥ 1")
        if case .pretext(let loss) = task { try loss.validate() }
    }

    /// The settings that decide every step's weights: all but the length of the run and the
    /// checkpoint interval. Each epoch's sample order and crops derive from the seed and the
    /// epoch alone, so a finished run resumed with more ``epochs`` (or another interval)
    /// continues exactly as an uninterrupted longer run would.
    var trajectory: TrainingConfiguration {
        var copy = self
        copy.epochs = 1
        copy.checkpointInterval = 1
        return copy
    }
}

/// A training setting out of its range (from Swift, the command line or a checkpoint's metadata).
public enum TrainingConfigurationError: Error, Equatable, CustomStringConvertible {
    /// `setting` has `value`, which is not `requirement`.
    case invalid(setting: String, value: String, requirement: String)

    /// A readable explanation naming the setting.
    public var description: String {
        switch self {
        case .invalid(let setting, let value, let requirement): "training setting \(setting) is \(value); it must be \(requirement)"
        }
    }
}
