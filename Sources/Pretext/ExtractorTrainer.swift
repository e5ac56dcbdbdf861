import Foundation
import NN
import Tensor

/// What the extractor is trained for.
public enum TrainingTask: Sendable, Codable, Equatable {
    /// The pretext task: 11-class classification plus MAE regression (DESIGN.md §6).
    case pretext(PretextLoss)
    /// Fine-tuning ("ours-ft"): real (label 0) vs generated (label 1), cross-entropy.
    case realOrGenerated
}

/// The extractor with the heads of a task. Checkpoint keys: `extractor.…`, `classifier.head.…`,
/// and for the pretext task `regressor.head.…`.
public final class ExtractorTrainingModel: Module, @unchecked Sendable {
    /// The feature extractor being trained.
    public let extractor: LowLevelFeatureExtractor
    /// The classification head (11 classes, or 2 for fine-tuning).
    public let classifier: FeatureHead
    /// The MAE regression head (pretext task only).
    public let regressor: FeatureHead?

    /// Creates the heads for `task` (initialised from `generator`) on `extractor`.
    public init<G: RandomNumberGenerator>(extractor: LowLevelFeatureExtractor, task: TrainingTask, using generator: inout G) {
        self.extractor = extractor
        switch task {
        case .pretext:
            classifier = FeatureHead(.pretextClassification(classes: PretextClass.count), using: &generator)
            regressor = FeatureHead(.errorRegression, using: &generator)
        case .realOrGenerated:
            classifier = FeatureHead(.realOrGenerated, using: &generator)
            regressor = nil
        }
        super.init()
    }

    /// `extractor`, `classifier`, `regressor`.
    public override var children: [(String, Module)] {
        [("extractor", extractor), ("classifier", classifier)] + (regressor.map { [("regressor", $0 as Module)] } ?? [])
    }
}

/// Settings of a training run.
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    /// The task and its loss.
    public var task: TrainingTask
    /// Adam's learning rate (fixed; the paper uses 1e-5).
    public var learningRate: Float
    /// Images per step.
    public var batchSize: Int
    /// Side of the random training crops (a multiple of 16).
    public var cropSize: Int
    /// Passes over the training samples.
    public var epochs: Int
    /// Write a checkpoint every this many steps (and at the end of each epoch).
    public var checkpointInterval: Int
    /// Seeds batch order, crops and heads.
    public var seed: UInt64

    /// Creates a configuration (the paper's learning rate; small crops and batches for a CPU).
    public init(task: TrainingTask = .pretext(PretextLoss()), learningRate: Float = 1e-5, batchSize: Int = 8, cropSize: Int = 64,
                epochs: Int = 1, checkpointInterval: Int = 100, seed: UInt64 = 0) {
        precondition(batchSize > 0 && epochs > 0 && checkpointInterval > 0, "TrainingConfiguration: batch size, epochs and interval must be positive")
        self.task = task
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.cropSize = cropSize
        self.epochs = epochs
        self.checkpointInterval = checkpointInterval
        self.seed = seed
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

/// Metrics of one epoch (a row of `metrics.csv`).
public struct EpochMetrics: Sendable, Codable, Equatable {
    /// The epoch, from 1.
    public var epoch: Int
    /// Steps taken so far.
    public var step: Int
    /// Mean training loss over the epoch (total).
    public var trainingLoss: Double
    /// Mean training cross-entropy.
    public var trainingCrossEntropy: Double
    /// Mean training regression loss (0 for fine-tuning).
    public var trainingRegression: Double
    /// Validation loss (total), or NaN without validation data.
    public var validationLoss: Double
    /// Validation accuracy over all classes.
    public var validationAccuracy: Double
    /// Validation accuracy per class index (NaN for classes absent from validation).
    public var validationClassAccuracy: [Double]
    /// Validation mean absolute error of the regression head (pretext only, else NaN).
    public var validationRegressionError: Double

    /// The CSV header matching ``csvRow``.
    public static func csvHeader(classes: Int) -> String {
        (["epoch", "step", "train_loss", "train_ce", "train_regression", "val_loss", "val_accuracy", "val_regression_error"]
            + (0..<classes).map { "val_accuracy_class\($0)" }).joined(separator: ",")
    }

    /// The metrics as a CSV row.
    public var csvRow: String {
        ([String(epoch), String(step)] + [trainingLoss, trainingCrossEntropy, trainingRegression, validationLoss,
                                          validationAccuracy, validationRegressionError].map { String($0) }
            + validationClassAccuracy.map { String($0) }).joined(separator: ",")
    }
}

/// What a training run reports as it goes.
public struct TrainingProgress: Sendable {
    /// The epoch, from 1.
    public var epoch: Int
    /// Steps taken in this run so far (including those before a resume).
    public var step: Int
    /// Steps the whole run will take.
    public var totalSteps: Int
    /// The last step's total loss.
    public var loss: Float
}

/// Trains the extractor on labelled images: the pretext task from scratch, or binary
/// fine-tuning from a trained extractor (DESIGN.md §6; the authors released no training code).
///
/// Adam with a fixed learning rate; batches of random crops (``CropSampler``) in an order drawn
/// from the seed each epoch; the next batch is decoded on a background thread (Tensor's
/// `Prefetcher`) while the current one trains. Every
/// ``TrainingConfiguration/checkpointInterval`` steps and at each epoch's end,
/// `checkpoint-<step>.safetensors` (weights and optimizer state) is written atomically in the
/// output folder, and `metrics.csv` is rewritten. ``run(stopAfter:progress:)`` resumes from the newest
/// checkpoint there, so a killed run continues where it stopped and reaches the same weights. A
/// run can also be lengthened: the same settings with more ``TrainingConfiguration/epochs``
/// continue a finished run and reach the weights of an uninterrupted longer one (the number of
/// epochs and the checkpoint interval are the only settings a resume may change).
public final class ExtractorTrainer {
    /// The model being trained.
    public let model: ExtractorTrainingModel
    /// The settings.
    public let configuration: TrainingConfiguration
    /// The training samples.
    public let training: [TrainingSample]
    /// The validation samples (may be empty).
    public let validation: [TrainingSample]
    /// Where checkpoints and metrics go.
    public let output: URL
    private var optimizer: Adam
    /// The number of optimisation steps done so far in the whole run (restored on resume).
    public private(set) var step = 0
    private var metrics: [EpochMetrics] = []
    /// Running sums of the current epoch: loss, cross-entropy, regression (each × samples), samples.
    private var sums: [Double] = [0, 0, 0, 0]

    /// Prepares a run; heads are drawn from the configuration's seed.
    public init(extractor: LowLevelFeatureExtractor, configuration: TrainingConfiguration,
                training: [TrainingSample], validation: [TrainingSample], output: URL) throws {
        precondition(!training.isEmpty, "ExtractorTrainer: no training samples")
        var generator = RandomGenerator(seed: configuration.seed)
        model = ExtractorTrainingModel(extractor: extractor, task: configuration.task, using: &generator)
        model.train()
        self.configuration = configuration
        self.training = training
        self.validation = validation
        self.output = output
        optimizer = Adam(learningRate: configuration.learningRate)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    }

    /// Steps per epoch (the last batch may be smaller).
    public var stepsPerEpoch: Int { (training.count + configuration.batchSize - 1) / configuration.batchSize }

    /// Trains to the end, resuming from the newest checkpoint in ``output`` if there is one.
    ///
    /// - Parameters:
    ///   - stopAfter: stop (after writing a checkpoint) once this many steps of the whole run are
    ///     done, to train in bounded sessions; `nil` trains to the end.
    ///   - progress: called after each step.
    /// - Returns: the metrics of every epoch (also in `metrics.csv`).
    @discardableResult
    public func run(stopAfter: Int? = nil, progress: (TrainingProgress) -> Void = { _ in }) throws -> [EpochMetrics] {
        try resumeIfPossible()
        if let stopAfter, step >= stopAfter { return metrics }  // already there: a rerun of a stopped session
        let sampler = CropSampler(cropSize: configuration.cropSize, seed: configuration.seed)
        let totalSteps = stepsPerEpoch * configuration.epochs
        while step < totalSteps {
            let epoch = step / stepsPerEpoch
            let order = epochOrder(epoch)
            let batches = stride(from: 0, to: order.count, by: configuration.batchSize).map {
                Array(order[$0..<min($0 + configuration.batchSize, order.count)])
            }
            // This session's batches of the epoch: from where it stands to the epoch's end or the stop.
            let first = step % stepsPerEpoch
            let last = min(batches.count, stopAfter.map { $0 - epoch * stepsPerEpoch } ?? batches.count)
            let samples = training
            try Prefetcher.run(count: last - first, lookahead: 1, prepare: { offset in
                Result { try sampler.batch(samples, indices: batches[first + offset], epoch: epoch) }
            }, consume: { _, prepared in
                let batch = try prepared.get()
                let terms = trainStep(batch)
                let n = Double(batch.labels.count)
                sums[0] += Double(terms.total.item) * n
                sums[1] += Double(terms.crossEntropy) * n
                sums[2] += Double(terms.regression) * n
                sums[3] += n
                step += 1
                progress(TrainingProgress(epoch: epoch + 1, step: step, totalSteps: totalSteps, loss: terms.total.item))
                let endOfEpoch = step % stepsPerEpoch == 0
                let stopping = stopAfter.map { step >= $0 } ?? false
                if !endOfEpoch && (step % configuration.checkpointInterval == 0 || stopping) { try writeCheckpoint() }
            })
            if step % stepsPerEpoch != 0 { return metrics }  // stopped mid-epoch (checkpoint written)
            var row = try validate(epoch: epoch + 1)
            let n = max(sums[3], 1)
            (row.trainingLoss, row.trainingCrossEntropy, row.trainingRegression) = (sums[0] / n, sums[1] / n, sums[2] / n)
            sums = [0, 0, 0, 0]
            metrics.append(row)
            try writeCheckpoint()
            try writeMetrics()
            if let stopAfter, step >= stopAfter { return metrics }
        }
        return metrics
    }

    /// The sample order of `epoch`: a seeded shuffle.
    func epochOrder(_ epoch: Int) -> [Int] {
        var generator = RandomGenerator(seed: configuration.seed &+ 0x5851_F42D_4C95_7F2D &* UInt64(epoch + 1))
        return Array(training.indices).shuffled(using: &generator)
    }

    private func evaluate(_ batch: TrainingBatch) -> (terms: PretextLoss.Terms, logits: Tensor, predictions: Tensor?) {
        let features = model.extractor(batch.tokens)
        let logits = model.classifier(features)
        switch configuration.task {
        case .pretext(let loss):
            let predictions = model.regressor!(features)
            let classes = batch.labels.map { PretextClass(rawValue: $0)! }
            return (loss(logits: logits, predictions: predictions, classes: classes, targets: batch.targets), logits, predictions)
        case .realOrGenerated:
            let ce = Tensor.crossEntropy(logits: logits, targets: batch.labels)
            return (PretextLoss.Terms(total: ce, crossEntropy: ce.item, regression: 0), logits, nil)
        }
    }

    /// One optimisation step on `batch`: forward, the task's loss, backward, Adam update.
    /// ``run(stopAfter:progress:)`` calls it for every batch; `grain benchmark-train` times it.
    ///
    /// - Returns: the batch's loss terms (before the update).
    @discardableResult
    public func trainStep(_ batch: TrainingBatch) -> PretextLoss.Terms {
        let (terms, _, _) = evaluate(batch)
        terms.total.backward()
        var parameters = model.trainableParameters()
        optimizer.step(&parameters)
        model.update(parameters)
        return terms
    }

    private func validate(epoch: Int) throws -> EpochMetrics {
        let classes = model.classifier.kind.outputs
        var row = EpochMetrics(epoch: epoch, step: step, trainingLoss: 0, trainingCrossEntropy: 0, trainingRegression: 0,
                               validationLoss: .nan, validationAccuracy: .nan,
                               validationClassAccuracy: [Double](repeating: .nan, count: classes), validationRegressionError: .nan)
        guard !validation.isEmpty else { return row }
        let sampler = CropSampler(cropSize: configuration.cropSize, seed: configuration.seed ^ 0xA5A5_A5A5)
        var correct = [Int](repeating: 0, count: classes), seen = [Int](repeating: 0, count: classes)
        var loss = 0.0, regressionError = 0.0
        model.eval()
        defer { model.train() }
        try Tensor.withoutGradient {
            for start in stride(from: 0, to: validation.count, by: configuration.batchSize) {
                let indices = Array(start..<min(start + configuration.batchSize, validation.count))
                let batch = try sampler.batch(validation, indices: indices, epoch: 0)
                let (terms, logits, predictions) = evaluate(batch)
                loss += Double(terms.total.item) * Double(indices.count)
                for (i, predicted) in logits.argmax(alongAxis: 1).enumerated() {
                    seen[batch.labels[i]] += 1
                    if predicted == batch.labels[i] { correct[batch.labels[i]] += 1 }
                }
                if let predictions {
                    for (p, t) in zip(predictions.scalars, batch.targets) { regressionError += Double(abs(p - t)) }
                }
            }
        }
        let n = Double(validation.count)
        row.validationLoss = loss / n
        row.validationAccuracy = Double(correct.reduce(0, +)) / n
        row.validationClassAccuracy = zip(correct, seen).map { $1 > 0 ? Double($0) / Double($1) : .nan }
        if model.regressor != nil { row.validationRegressionError = regressionError / n }
        return row
    }

    // MARK: Checkpoints

    /// The checkpoint files in ``output``, oldest first.
    public func checkpoints() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".safetensors"),
                  let s = Int(name.dropFirst("checkpoint-".count).dropLast(".safetensors".count)) else { return nil }
            return (s, output.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    private func writeCheckpoint() throws {
        var tensors = model.stateDictionary()
        for (key, value) in optimizer.state { tensors["optimizer." + key] = value }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let metadata = ["format": "grain-extractor-training", "version": "1", "step": String(step),
                        "configuration": String(decoding: try encoder.encode(configuration), as: UTF8.self),
                        "metrics": String(decoding: try encoder.encode(metrics), as: UTF8.self),
                        "epochSums": String(decoding: try encoder.encode(sums), as: UTF8.self)]
        try SafeTensors.write(tensors, metadata: metadata, to: output.appendingPathComponent("checkpoint-\(step).safetensors"))
        // Keep the two newest.
        for old in checkpoints().dropLast(2) { try? FileManager.default.removeItem(at: old.url) }
    }

    private func resumeIfPossible() throws {
        guard let newest = checkpoints().last else { return }
        let file = try SafeTensors(contentsOf: newest.url)
        guard file.metadata["format"] == "grain-extractor-training", let saved = file.metadata["step"].flatMap(Int.init) else {
            throw TrainingCheckpointError.invalid(path: newest.url.path, reason: "not a Grain training checkpoint")
        }
        let savedConfiguration = try file.metadata["configuration"].map { try JSONDecoder().decode(TrainingConfiguration.self, from: Data($0.utf8)) }
        guard let savedConfiguration, savedConfiguration.trajectory == configuration.trajectory else {
            throw TrainingCheckpointError.invalid(path: newest.url.path, reason: "written with another configuration; use a new output folder")
        }
        try model.load(from: file, strict: true, ignoring: Set(file.keys.filter { $0.hasPrefix("optimizer.") }))
        var state: [String: Tensor] = [:]
        for key in file.keys where key.hasPrefix("optimizer.") { state[String(key.dropFirst("optimizer.".count))] = try file.tensor(named: key) }
        try optimizer.load(state: state)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        metrics = try file.metadata["metrics"].map { try decoder.decode([EpochMetrics].self, from: Data($0.utf8)) } ?? []
        sums = try file.metadata["epochSums"].map { try decoder.decode([Double].self, from: Data($0.utf8)) } ?? [0, 0, 0, 0]
        step = saved
    }

    private func writeMetrics() throws {
        let classes = model.classifier.kind.outputs
        let text = ([EpochMetrics.csvHeader(classes: classes)] + metrics.map(\.csvRow)).joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: output.appendingPathComponent("metrics.csv"), options: .atomic)
    }
}

/// Why a training checkpoint cannot be resumed.
public enum TrainingCheckpointError: Error, CustomStringConvertible {
    /// The checkpoint is not usable.
    case invalid(path: String, reason: String)

    /// A readable explanation naming the file.
    public var description: String {
        switch self { case .invalid(let path, let reason): "\(path): \(reason)" }
    }
}
