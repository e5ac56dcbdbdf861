import Diffusion
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
    /// Running sums of the current epoch.
    private var sums = EpochSums()

    /// Prepares a run; heads are drawn from the configuration's seed.
    public init(extractor: LowLevelFeatureExtractor, configuration: TrainingConfiguration,
                training: [TrainingSample], validation: [TrainingSample], output: URL) throws {
        guard !training.isEmpty else { throw TrainingDataError.noTrainingSamples(output: output.path) }
        var generator = RandomGenerator(seed: configuration.seed, stream: ExtractorStreams.heads)
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
    ///   - progress: called after each step; throw from it (e.g. `CancellationError()`) to stop
    ///     the run: a checkpoint of the steps done is written, then the error propagates, and the
    ///     same call resumes from there.
    /// - Returns: the metrics of every epoch (also in `metrics.csv`).
    @discardableResult
    public func run(stopAfter: Int? = nil, progress: (TrainingProgress) throws -> Void = { _ in }) throws -> [EpochMetrics] {
        try resumeIfPossible()
        if let stopAfter, step >= stopAfter { return metrics }  // already there: a rerun of a stopped session
        let sampler = CropSampler(cropSize: configuration.cropSize,
                                  seed: RandomGenerator.derivedSeed(configuration.seed, stream: ExtractorStreams.trainingCrops))
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
                sums.add(terms, samples: batch.labels.count)
                step += 1
                do {
                    try progress(TrainingProgress(epoch: epoch + 1, step: step, totalSteps: totalSteps, loss: terms.total.item))
                } catch {
                    // At an epoch's end the epoch's metrics are not recorded yet: resume from the
                    // previous checkpoint instead (it redoes the steps since, to the same weights).
                    if step % stepsPerEpoch != 0 { try writeCheckpoint() }
                    throw error
                }
                let endOfEpoch = step % stepsPerEpoch == 0
                let stopping = stopAfter.map { step >= $0 } ?? false
                if !endOfEpoch && (step % configuration.checkpointInterval == 0 || stopping) { try writeCheckpoint() }
            })
            if step % stepsPerEpoch != 0 { return metrics }  // stopped mid-epoch (checkpoint written)
            var row = try validate(epoch: epoch + 1)
            (row.trainingLoss, row.trainingCrossEntropy, row.trainingRegression) = sums.means
            sums = EpochSums()
            metrics.append(row)
            try writeCheckpoint()
            try writeMetrics()
            if let stopAfter, step >= stopAfter { return metrics }
        }
        return metrics
    }

    /// The sample order of `epoch`: a shuffle seeded by stream `epoch` under the derived seed of
    /// ``ExtractorStreams/epochOrder``.
    func epochOrder(_ epoch: Int) -> [Int] {
        var generator = RandomGenerator(seed: RandomGenerator.derivedSeed(configuration.seed, stream: ExtractorStreams.epochOrder),
                                        stream: UInt64(epoch))
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
        let sampler = CropSampler(cropSize: configuration.cropSize,
                                  seed: RandomGenerator.derivedSeed(configuration.seed, stream: ExtractorStreams.validationCrops))
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
    public func checkpoints() -> [(step: Int, url: URL)] { checkpointFolder.list() }

    private var checkpointFolder: TrainingCheckpoints { TrainingCheckpoints(folder: output, format: "grain-extractor-training") }

    private static var metadataEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    private static var metadataDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    private func writeCheckpoint() throws {
        let encoder = Self.metadataEncoder
        try checkpointFolder.write(model: model, optimizer: optimizer, step: step, metadata: [
            "configuration": String(decoding: try encoder.encode(configuration), as: UTF8.self),
            "metrics": String(decoding: try encoder.encode(metrics), as: UTF8.self),
            "epochSums": String(decoding: try encoder.encode(sums.stored), as: UTF8.self)])
    }

    private func resumeIfPossible() throws {
        let trajectory = configuration.trajectory
        guard let (saved, metadata) = try checkpointFolder.resume(model: model, optimizer: &optimizer, accepting: { metadata in
            let saved = try metadata["configuration"].map { try JSONDecoder().decode(TrainingConfiguration.self, from: Data($0.utf8)) }
            return saved?.trajectory == trajectory
        }) else { return }
        let decoder = Self.metadataDecoder
        metrics = try metadata["metrics"].map { try decoder.decode([EpochMetrics].self, from: Data($0.utf8)) } ?? []
        sums = try metadata["epochSums"].map { EpochSums(stored: try decoder.decode([Double].self, from: Data($0.utf8))) } ?? EpochSums()
        step = saved
    }

    private func writeMetrics() throws {
        let classes = model.classifier.kind.outputs
        let text = ([EpochMetrics.csvHeader(classes: classes)] + metrics.map(\.csvRow)).joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(text.utf8), to: output.appendingPathComponent("metrics.csv"))
    }
}

/// The running sums of an epoch's training losses, each weighted by the batch's samples.
struct EpochSums: Equatable {
    /// Σ total loss × samples.
    var loss = 0.0
    /// Σ cross-entropy × samples.
    var crossEntropy = 0.0
    /// Σ regression loss × samples.
    var regression = 0.0
    /// The samples seen.
    var samples = 0.0

    init() {}

    /// Sums from a checkpoint's `epochSums` (`[loss, crossEntropy, regression, samples]`).
    init(stored: [Double]) {
        let values = stored.count == 4 ? stored : [0, 0, 0, 0]
        (loss, crossEntropy, regression, samples) = (values[0], values[1], values[2], values[3])
    }

    /// The checkpoint layout, `[loss, crossEntropy, regression, samples]`.
    var stored: [Double] { [loss, crossEntropy, regression, samples] }

    /// Adds one batch's terms.
    mutating func add(_ terms: PretextLoss.Terms, samples count: Int) {
        let n = Double(count)
        loss += Double(terms.total.item) * n
        crossEntropy += Double(terms.crossEntropy) * n
        regression += Double(terms.regression) * n
        samples += n
    }

    /// The means (loss, cross-entropy, regression) over the samples seen.
    var means: (Double, Double, Double) {
        let n = max(samples, 1)
        return (loss / n, crossEntropy / n, regression / n)
    }
}
