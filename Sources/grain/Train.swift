import ArgumentParser
import Foundation
import NN
import Pretext
import Tensor

extension PretextLoss.Regression: ExpressibleByArgument {}

/// Options shared by `train` and `finetune`.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Output folder: checkpoints, metrics.csv and extractor.safetensors. A run resumes from the newest checkpoint there (also with a larger --epochs, to train longer).")
    var out: String
    @Option(help: "Learning rate (Adam, fixed).") var learningRate: Float = 1e-5
    @Option(help: "Images per step.") var batchSize = 8
    @Option(help: "Side of the random training crops (a multiple of 16).") var cropSize = 64
    @Option(help: "Passes over the training images.") var epochs = 1
    @Option(help: "Checkpoint every this many steps.") var checkpointInterval = 100
    @Option(help: "Fraction of source photos held out for validation.") var validationFraction = 0.1
    @Option(help: "Seed for heads, batch order and crops.") var seed: UInt64 = 0
    @Option(help: "Stop after this many steps in total (resume later with the same command).") var stopAfter: Int?

    func run(extractor: LowLevelFeatureExtractor, task: TrainingTask, samples: [TrainingSample]) throws {
        let (training, validation) = splitByGroup(samples, fraction: validationFraction, seed: seed)
        let configuration = try TrainingConfiguration(task: task, learningRate: learningRate, batchSize: batchSize, cropSize: cropSize,
                                                  epochs: epochs, checkpointInterval: checkpointInterval, seed: seed)
        let output = URL(fileURLWithPath: out)
        let trainer = try ExtractorTrainer(extractor: extractor, configuration: configuration, training: training,
                                           validation: validation, output: output)
        printError("training on \(training.count) images, validating on \(validation.count); \(trainer.stepsPerEpoch) steps per epoch")
        var progress = Progress(total: trainer.stepsPerEpoch * epochs, unit: "steps")
        var reported = false
        let metrics = try trainer.run(stopAfter: stopAfter) { p in
            // The first report starts the clock (its step's time is unknown); later ones advance it.
            if !reported { progress.resume(from: p.step); reported = true } else { progress.advance() }
        }
        if trainer.step < trainer.stepsPerEpoch * epochs {
            printError("\nstopped after \(trainer.step) of \(trainer.stepsPerEpoch * epochs) steps; run the same command with a larger --stop-after (or none) to resume")
        }
        try extractor.save(to: output.appendingPathComponent("extractor.safetensors"),
                           metadata: ["source": "grain \(task == .realOrGenerated ? "finetune" : "train")"])
        for row in metrics {
            printError(String(format: "epoch %d: train loss %.4f, validation loss %.4f, accuracy %.3f", row.epoch, row.trainingLoss,
                              row.validationLoss, row.validationAccuracy))
        }
    }
}

/// Splits samples by their group (source photo) with an order drawn from stream
/// ``ExtractorStreams/validationSplit`` of `seed` (the training's seed).
func splitByGroup(_ samples: [TrainingSample], fraction: Double, seed: UInt64) -> ([TrainingSample], [TrainingSample]) {
    var generator = RandomGenerator(seed: seed, stream: ExtractorStreams.validationSplit)
    let groups = Array(Set(samples.map(\.group))).sorted().shuffled(using: &generator)
    let held = Set(groups.prefix(Int((Double(groups.count) * fraction).rounded())))
    return (samples.filter { !held.contains($0.group) }, samples.filter { held.contains($0.group) })
}

/// `grain train`: the pretext task from a dataset manifest.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the extractor on a pretext dataset (11-class classification + MAE regression).")

    @Option(help: "The dataset's manifest.jsonl (image paths relative to its folder).") var manifest: String
    @Option(help: "Start from these extractor weights instead of a random initialisation.") var weights: String?
    @Option(help: "Regression loss on the MAE target: l1 or l2.") var regression: PretextLoss.Regression = .l1
    @Option(help: "Weight λ of the regression term.") var regressionWeight: Float = 1
    @OptionGroup var options: TrainingOptions

    func run() throws {
        let url = URL(fileURLWithPath: manifest)
        let samples = TrainingSample.pretext(try PretextManifest(contentsOf: url), root: url.deletingLastPathComponent())
        let extractor = LowLevelFeatureExtractor()
        if let weights {
            try extractor.load(contentsOf: URL(fileURLWithPath: weights))
        } else {
            var generator = RandomGenerator(seed: options.seed, stream: ExtractorStreams.extractorInitialization)
            extractor.initializeParameters(using: &generator)
        }
        try options.run(extractor: extractor, task: .pretext(PretextLoss(regression: regression, regressionWeight: regressionWeight)),
                        samples: samples)
    }
}

/// `grain finetune`: binary real/generated fine-tuning ("ours-ft").
struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a trained extractor to tell real (label 0) from generated (label 1) images.")

    @Option(help: "The trained extractor weights to start from.") var weights: String
    @Option(help: "Folders of real photos.") var real: [String]
    @Option(help: "Folders of generated images.") var fake: [String]
    @OptionGroup var options: TrainingOptions

    func run() throws {
        let extractor = try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: weights))
        let realFiles = try imageFiles(real), fakeFiles = try imageFiles(fake)
        guard !realFiles.isEmpty, !fakeFiles.isEmpty else { throw ValidationError("need images in both --real and --fake") }
        let samples = realFiles.map { TrainingSample(url: URL(fileURLWithPath: $0), label: 0, group: $0) }
            + fakeFiles.map { TrainingSample(url: URL(fileURLWithPath: $0), label: 1, group: $0) }
        try options.run(extractor: extractor, task: .realOrGenerated, samples: samples)
    }
}
