import Diffusion
import Foundation
import Testing
import Imaging
import NN
import Tensor
import Pretext
import GrainTestSupport

/// Training on synthetic images: smooth (label 0) vs noisy (label 1), so a few steps suffice.
@Suite struct TrainerTests {
    static func makeSamples(in folder: URL, count: Int, seed: UInt64) throws -> [TrainingSample] {
        var generator = RandomGenerator(seed: seed)
        var samples: [TrainingSample] = []
        for i in 0..<count {
            let noisy = i % 2 == 1
            var image = Image(width: 32, height: 32, channels: 3, repeating: 0)
            let base = UInt8(generator.next() % 200)
            for y in 0..<32 { for x in 0..<32 { for c in 0..<3 {
                let value = noisy ? UInt8(generator.next() % 256) : base &+ UInt8((x + y) / 4)
                image[x: x, y: y, channel: c] = value
            } } }
            let url = folder.appendingPathComponent("image\(i).png")
            try image.write(to: url, as: .png)
            samples.append(TrainingSample(url: url, label: noisy ? 1 : 0, group: "photo\(i)"))
        }
        return samples
    }

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("grain-trainer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func extractor(seed: UInt64) -> LowLevelFeatureExtractor {
        let model = LowLevelFeatureExtractor()
        var generator = RandomGenerator(seed: seed)
        model.initializeParameters(using: &generator)
        return model
    }

    @Test func lossFallsAndMetricsAreWritten() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let samples = try Self.makeSamples(in: folder, count: 16, seed: 1)
        let configuration = try TrainingConfiguration(task: .realOrGenerated, learningRate: 1e-3, batchSize: 4, cropSize: 16,
                                                  epochs: 4, checkpointInterval: 100, seed: 3)
        let trainer = try ExtractorTrainer(extractor: Self.extractor(seed: 2), configuration: configuration,
                                           training: Array(samples[0..<12]), validation: Array(samples[12...]),
                                           output: folder.appendingPathComponent("run"))
        let metrics = try trainer.run()
        print("[training] losses per epoch: \(metrics.map(\.trainingLoss)), validation accuracy \(metrics.map(\.validationAccuracy))")
        #expect(metrics.count == 4)
        #expect(metrics.last!.trainingLoss < metrics.first!.trainingLoss, "training loss did not fall: \(metrics.map(\.trainingLoss))")
        let csv = try String(contentsOf: folder.appendingPathComponent("run/metrics.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 5)
        #expect(trainer.checkpoints().count <= 2 && !trainer.checkpoints().isEmpty)
    }

    @Test func resumingReachesTheSameWeights() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let samples = try Self.makeSamples(in: folder, count: 10, seed: 4)
        let configuration = try TrainingConfiguration(task: .pretext(PretextLoss()), learningRate: 1e-3, batchSize: 3, cropSize: 16,
                                                  epochs: 2, checkpointInterval: 1, seed: 5)
        let pretextSamples = samples.enumerated().map { i, s in
            TrainingSample(url: s.url, label: i % 11, target: Float(i) / 100, group: s.group)
        }
        let straight = try ExtractorTrainer(extractor: Self.extractor(seed: 6), configuration: configuration, training: pretextSamples,
                                            validation: [], output: folder.appendingPathComponent("straight"))
        try straight.run()
        // Interrupted after 2 steps (mid-epoch) and after 5, then resumed by fresh trainers.
        for stop in [2, 5, nil] as [Int?] {
            let resumed = try ExtractorTrainer(extractor: Self.extractor(seed: 6), configuration: configuration,
                                               training: pretextSamples, validation: [], output: folder.appendingPathComponent("resumed"))
            try resumed.run(stopAfter: stop)
            if let stop {
                #expect(resumed.step == stop, "stopAfter \(stop) ended at step \(resumed.step)")
                // The same bound again does nothing: the run is already there.
                let again = try ExtractorTrainer(extractor: Self.extractor(seed: 6), configuration: configuration,
                                                 training: pretextSamples, validation: [], output: folder.appendingPathComponent("resumed"))
                try again.run(stopAfter: stop)
                #expect(again.step == stop, "a rerun with stopAfter \(stop) went on to step \(again.step)")
            }
            if stop == nil {
                let a = straight.model.stateDictionary(), b = resumed.model.stateDictionary()
                #expect(a.keys.sorted() == b.keys.sorted())
                for (key, value) in a { #expect(value.scalars == b[key]!.scalars, "\(key) differs after resuming") }
            }
        }
    }

    /// A finished 1-epoch run, rerun with 3 epochs (and another checkpoint interval), reaches the
    /// weights of a straight 3-epoch run; another learning rate is still refused.
    @Test func aFinishedRunExtendedWithMoreEpochsEqualsALongerRun() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let samples = try Self.makeSamples(in: folder, count: 8, seed: 7).enumerated().map { i, s in
            TrainingSample(url: s.url, label: i % 11, target: Float(i) / 100, group: s.group)
        }
        func configuration(epochs: Int, interval: Int = 2, learningRate: Float = 1e-3) throws -> TrainingConfiguration {
            try TrainingConfiguration(task: .pretext(PretextLoss()), learningRate: learningRate, batchSize: 3, cropSize: 16,
                                  epochs: epochs, checkpointInterval: interval, seed: 8)
        }
        func trainer(_ configuration: TrainingConfiguration, _ name: String) throws -> ExtractorTrainer {
            try ExtractorTrainer(extractor: Self.extractor(seed: 9), configuration: configuration, training: samples,
                                 validation: [], output: folder.appendingPathComponent(name))
        }
        let straight = try trainer(try configuration(epochs: 3), "straight")
        try straight.run()
        try trainer(try configuration(epochs: 1), "extended").run()
        let extended = try trainer(try configuration(epochs: 3, interval: 5), "extended")
        let metrics = try extended.run()
        #expect(extended.step == straight.step && metrics.count == 3)
        let a = straight.model.stateDictionary(), b = extended.model.stateDictionary()
        for (key, value) in a { #expect(value.scalars == b[key]!.scalars, "\(key) differs in the extended run") }
        #expect(throws: TrainingCheckpointError.self) { try trainer(try configuration(epochs: 4, learningRate: 1e-4), "extended").run() }
    }

    /// A progress callback that throws stops the run after a checkpoint; the same call resumes
    /// and reaches the weights of an uninterrupted run.
    @Test func progressCanCancelAndTheRunResumes() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let samples = try Self.makeSamples(in: folder, count: 6, seed: 11)
        let configuration = try TrainingConfiguration(task: .realOrGenerated, learningRate: 1e-3, batchSize: 2, cropSize: 16,
                                                      epochs: 2, checkpointInterval: 100, seed: 12)
        func trainer(_ name: String) throws -> ExtractorTrainer {
            try ExtractorTrainer(extractor: Self.extractor(seed: 13), configuration: configuration, training: samples, validation: [],
                                 output: folder.appendingPathComponent(name))
        }
        let straight = try trainer("straight")
        try straight.run()
        let cancelled = try trainer("cancelled")
        #expect(throws: CancellationError.self) {
            try cancelled.run { progress in if progress.step == 2 { throw CancellationError() } }
        }
        #expect(cancelled.checkpoints().last?.step == 2)
        let resumed = try trainer("cancelled")
        try resumed.run()
        #expect(resumed.step == straight.step)
        let a = straight.model.stateDictionary(), b = resumed.model.stateDictionary()
        for (key, value) in a { #expect(value.scalars == b[key]!.scalars, "\(key) differs after a cancelled run resumed") }
    }

    /// A damaged newest checkpoint (truncated, or not Grain's) stops the resume with an error
    /// naming the file instead of training from an undefined state.
    @Test func damagedCheckpointIsReported() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let samples = try Self.makeSamples(in: folder, count: 4, seed: 7)
        let configuration = try TrainingConfiguration(task: .realOrGenerated, learningRate: 1e-3, batchSize: 2, cropSize: 16,
                                                  epochs: 1, checkpointInterval: 1, seed: 8)
        let output = folder.appendingPathComponent("run")
        func trainer() throws -> ExtractorTrainer {
            try ExtractorTrainer(extractor: Self.extractor(seed: 9), configuration: configuration, training: samples, validation: [],
                                 output: output)
        }
        try trainer().run(stopAfter: 1)
        let checkpoint = try #require(try trainer().checkpoints().last).url
        let bytes = try Data(contentsOf: checkpoint)
        try bytes.prefix(bytes.count / 2).write(to: checkpoint)
        #expect {
            try trainer().run()
        } throws: { error in
            print("[truncated checkpoint] \(error)")
            return "\(error)".contains(checkpoint.path)
        }
        try SafeTensors.write(["x": Tensor([1, 2])], metadata: ["format": "something-else"], to: checkpoint)
        #expect {
            try trainer().run()
        } throws: { error in
            print("[foreign checkpoint] \(error)")
            return "\(error)".contains(checkpoint.path) && "\(error)".contains("not a grain-extractor-training checkpoint")
        }
    }
}
