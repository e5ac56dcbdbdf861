import ArgumentParser
import Dispatch
import Foundation
import NN
import Pretext
import Tensor

/// `grain benchmark-train`: times pretext training steps of the extractor on random data, the
/// Grain side of `Scripts/compare/train_speed.py` (hidden: a measuring tool, not a workflow).
struct BenchmarkTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-train",
        abstract: "Time pretext training steps (forward, CE + L1 loss, backward, Adam) on random patches (JSON on standard output).",
        shouldDisplay: false)

    @Option(help: "Images per step.") var batchSize = 8
    @Option(help: "Side of the square crops (a multiple of 16).") var cropSize = 64
    @Option(help: "Timed steps (after --warmup untimed ones).") var steps = 20
    @Option(help: "Untimed warm-up steps.") var warmup = 2
    @Flag(help: "Also print the time of forward, backward and the optimizer step, summed over the timed steps, on standard error.")
    var stages = false

    func run() throws {
        guard cropSize > 0, cropSize % 16 == 0 else { throw ValidationError("--crop-size must be a positive multiple of 16") }
        var generator = RandomGenerator(seed: 0)
        let extractor = LowLevelFeatureExtractor()
        extractor.initializeParameters(using: &generator)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-benchmark-train-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let placeholder = TrainingSample(url: folder.appendingPathComponent("unused.png"), label: 0, group: "unused")
        let trainer = try ExtractorTrainer(extractor: extractor, configuration: TrainingConfiguration(batchSize: batchSize, cropSize: cropSize),
                                           training: [placeholder], validation: [], output: folder)
        let patches = (cropSize / 16) * (cropSize / 16)
        // Random batches drawn up front so the timing holds only the training step.
        let batches = (0..<(warmup + steps)).map { _ in
            TrainingBatch(tokens: Tensor.randomUniform([batchSize, patches, 3, 16, 16], using: &generator),
                          labels: (0..<batchSize).map { _ in Int(generator.next() % 11) },
                          targets: (0..<batchSize).map { _ in Float(generator.next() % 1000) / 5000 })
        }
        for batch in batches.prefix(warmup) { trainer.trainStep(batch) }
        let start = DispatchTime.now().uptimeNanoseconds
        var loss: Float = 0
        for batch in batches.dropFirst(warmup) { loss = trainer.trainStep(batch).total.item }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if stages { try timeStages(trainer.model, batches: Array(batches.dropFirst(warmup))) }
        let imagesPerSecond = Double(steps * batchSize) / seconds
        print("{\"batch_size\": \(batchSize), \"crop_size\": \(cropSize), \"steps\": \(steps), \"seconds\": \(seconds), "
              + "\"seconds_per_step\": \(seconds / Double(steps)), \"images_per_second\": \(imagesPerSecond), "
              + "\"patches_per_second\": \(imagesPerSecond * Double(patches)), \"last_loss\": \(loss)}")
    }

    /// Repeats the steps with a clock between forward, backward and the Adam update.
    private func timeStages(_ model: ExtractorTrainingModel, batches: [TrainingBatch]) throws {
        var optimizer = Adam(learningRate: 1e-5)
        var forward = 0.0, backward = 0.0, update = 0.0
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        for batch in batches {
            let t0 = now()
            let features = model.extractor(batch.tokens)
            let loss = PretextLoss()(logits: model.classifier(features), predictions: model.regressor!(features),
                                     classes: batch.labels.map { PretextClass(rawValue: $0)! }, targets: batch.targets)
            let t1 = now()
            loss.total.backward()
            let t2 = now()
            var parameters = model.trainableParameters()
            optimizer.step(&parameters)
            model.update(parameters)
            let t3 = now()
            forward += t1 - t0; backward += t2 - t1; update += t3 - t2
        }
        printError(String(format: "forward %.3f s, backward %.3f s, optimizer %.3f s over %d steps", forward, backward, update, batches.count))
    }
}
