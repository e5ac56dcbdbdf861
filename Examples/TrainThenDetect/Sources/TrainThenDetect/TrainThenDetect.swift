import Diffusion
import Evaluation
import Foundation
import Imaging
import NN
import OneClass
import Pretext
import Tensor

/// The latent diffusion pipeline every stage uses (Stable Diffusion's, or the small one trained here).
typealias LatentPipeline = RestorationPipeline<StableDiffusionCodec, StableDiffusionDenoiser>

/// One run of the whole method; each stage reuses what a previous run left in ``work``.
struct TrainThenDetect {
    let options: Options
    var sizes: Sizes { options.sizes }
    /// `<out>/seed-<seed>[-quick|-custom][-sd]`: everything this configuration makes (`-custom`: `--sizes` other than the standard).
    let work: URL

    init(options: Options) {
        self.options = options
        var name = "seed-\(options.seed)"
        if options.sizes == .quick { name += "-quick" } else if options.sizes != .standard { name += "-custom" }
        if options.stableDiffusion != nil { name += "-sd" }
        work = URL(fileURLWithPath: options.out).appendingPathComponent(name)
    }

    /// The photographs split by photo: the models learn from `training`; the threshold is
    /// calibrated on `calibration`; `test` gives the held-out real samples.
    struct Photos {
        var training: [Image], calibration: [Image], test: [Image]
        var names: (training: [String], calibration: [String], test: [String])
    }

    func run() throws {
        let start = Date()
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try checkSizes()
        status("train-then-detect: working in \(work.path) (seed \(options.seed)); load average \(loadAverage())")

        let photos = try loadPhotos()
        let pipeline = try denoiser(photos)
        let (extractor, accuracy) = try trainExtractor(photos, pipeline: pipeline)
        let samples = try detectionSamples(photos, pipeline: pipeline)

        var extractors: [(name: String, LowLevelFeatureExtractor)] = [("trained here", extractor)]
        if let weights = options.weights {
            extractors.append(("authors' basic", try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: weights))))
        }
        var rows: [String] = []
        for (index, (name, extractor)) in extractors.enumerated() {
            rows += try evaluate(extractor, name: name, folder: index == 0 ? "trained" : "authors", samples: samples, photos: photos)
        }
        let header = tableRow("extractor", "source", "count", "AUC", "TPR", "FPR", "95 % interval")
        let output = ([header] + rows + [""] + accuracyLines(accuracy)).joined(separator: "\n") + "\n"
        print(output, terminator: "")
        if let file = options.tableFile {
            try Data(output.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
            status("table written to \(file)")
        }
        status("done in \(elapsed(since: start)); report in \(work.appendingPathComponent("report").path)")
    }

    /// Records the sizes in `sizes.json`, or checks that a previous run in ``work`` used the same:
    /// cached stages are only valid for the sizes that made them.
    func checkSizes() throws {
        let url = work.appendingPathComponent("sizes.json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let current = try encoder.encode(sizes)
        if let previous = try? Data(contentsOf: url), let decoded = try? JSONDecoder().decode(Sizes.self, from: previous) {
            guard decoded == sizes else {
                throw RunError(description: "\(work.path) holds a run made with other sizes (see its sizes.json): remove it or pass another --out")
            }
            return
        }
        try current.write(to: url, options: .atomic)
    }

    // MARK: Stages

    /// Stage 1: the photographs, decoded and split.
    func loadPhotos() throws -> Photos {
        let stage = Date()
        let files: [URL]
        if let folder = options.photos {
            files = ImageFiles.expand([folder]).sorted { $0.path < $1.path }
        } else {
            files = try defaultPhotos(cache: URL(fileURLWithPath: options.photoCache))
        }
        let minimumSide = min(max(2 * sizes.cropSize, 64), sizes.photoSide)
        var images: [(String, Image)] = []
        for file in files {
            guard var image = try? Image(contentsOf: file) else { status("  skipping \(file.path): not a readable image"); continue }
            let side = min(image.width, image.height)
            if side > sizes.photoSide {
                image = image.resized(width: max(1, image.width * sizes.photoSide / side), height: max(1, image.height * sizes.photoSide / side),
                                      filter: .box)
            }
            guard min(image.width, image.height) >= minimumSide else {
                status("  skipping \(file.lastPathComponent): smaller than \(minimumSide) px")
                continue
            }
            images.append((file.lastPathComponent, image))
        }
        guard images.count >= 3 else {
            throw RunError(description: "need at least 3 photos of at least \(minimumSide) px, found \(images.count)")
        }
        var generator = RandomGenerator(seed: options.seed, stream: ExampleStreams.photoSplit)
        images.shuffle(using: &generator)
        let held = max(1, images.count / 5)
        let test = Array(images[0..<held]), calibration = Array(images[held..<(2 * held)]), training = Array(images[(2 * held)...])
        status("1. photos: \(images.count) (\(training.count) training, \(calibration.count) calibration, \(test.count) test) in \(elapsed(since: stage))")
        status("   calibration: \(calibration.map(\.0).joined(separator: ", ")); test: \(test.map(\.0).joined(separator: ", "))")
        return Photos(training: training.map(\.1), calibration: calibration.map(\.1), test: test.map(\.1),
                      names: (training.map(\.0), calibration.map(\.0), test.map(\.0)))
    }

    /// Stage 2: the latent diffusion model — Stable Diffusion's, or a small one trained on the
    /// training photos (resumes from its checkpoints; skipped when the model folder exists).
    func denoiser(_ photos: Photos) throws -> LatentPipeline {
        let stage = Date()
        if let folder = options.stableDiffusion {
            let pipeline = try LatentPipeline.stableDiffusion(folder: URL(fileURLWithPath: folder))
            status("2. denoiser: Stable Diffusion from \(folder)")
            return pipeline
        }
        let folder = work.appendingPathComponent("denoiser")
        let model = folder.appendingPathComponent("model")
        // The U-Net weights are written last: their presence means the whole model is there.
        if !FileManager.default.fileExists(atPath: model.appendingPathComponent("unet/diffusion_pytorch_model.safetensors").path) {
            status("2. denoiser: training a small VAE (downsampling \(sizes.vaeDownsampling)×, \(sizes.vaeSteps) steps) then U-Net "
                + "(\(sizes.unetSteps) steps) on \(sizes.denoiserCrop)² crops")
            let crops = TrainingCrops(images: photos.training.map { Tensor($0) })
            func settings(_ steps: Int) -> DiffusionTrainingSettings {
                DiffusionTrainingSettings(steps: steps, batchSize: sizes.denoiserBatch, cropSize: sizes.denoiserCrop, learningRate: 1e-3,
                                          checkpointInterval: 100, seed: options.seed)
            }
            var progress: [SmallDenoiserTraining.Phase: Progress] = [:]
            try SmallDenoiserTraining(vaeConfiguration: sizes.vaeConfiguration, unetConfiguration: sizes.unetConfiguration,
                                      vaeSettings: settings(sizes.vaeSteps), unetSettings: settings(sizes.unetSteps))
                .run(crops: crops, output: folder) { phase, report in
                    if progress[phase] == nil {
                        var fresh = Progress(total: report.totalSteps, unit: "\(phase == .autoencoder ? "VAE" : "U-Net") steps")
                        fresh.advance(by: report.step - 1)
                        progress[phase] = fresh
                    }
                    progress[phase]!.advance()
                }
        }
        let pipeline = try LatentPipeline.smallDenoiser(folder: model)
        status("2. denoiser: small latent diffusion model in \(model.path) (\(elapsed(since: stage)))")
        return pipeline
    }

    /// Stage 3: the pretext dataset from crops of the training photos, then the extractor
    /// trained from scratch on it (both resume; the weights go to `extractor.safetensors`, the
    /// last epoch's metrics to `final-metrics.json`). Returns the extractor and those metrics.
    func trainExtractor(_ photos: Photos, pipeline: LatentPipeline) throws -> (LowLevelFeatureExtractor, EpochMetrics) {
        let trained = work.appendingPathComponent("extractor/extractor.safetensors")
        let finalMetrics = trained.deletingLastPathComponent().appendingPathComponent("final-metrics.json")
        if FileManager.default.fileExists(atPath: trained.path), let data = try? Data(contentsOf: finalMetrics),
           let metrics = try? JSONDecoder().decode(EpochMetrics.self, from: data) {
            status("3. extractor: reusing \(trained.path)")
            return (try LowLevelFeatureExtractor(contentsOf: trained), metrics)
        }
        var stage = Date()
        var generator = RandomGenerator(seed: options.seed, stream: ExampleStreams.pretextCrops)
        let multiple = pipeline.sizeMultiple, size = max(multiple, sizes.pretextCrop / multiple * multiple)
        let crops = try RandomCrops(count: sizes.pretextCrops, fixedSide: size).crops(from: photos.training, using: &generator)
        let cropFiles = try writeImages(crops, to: work.appendingPathComponent("pretext-photos"), prefix: "crop")
        let dataset = work.appendingPathComponent("pretext")
        status("3. pretext dataset: \(crops.count) crops of \(size)² × 11 classes (original, VAE, levels 1…9)")
        var progress = Progress(total: crops.count, unit: "crops")
        let builder = PretextDatasetBuilder(pipeline: pipeline, output: dataset, cropSize: size)
        let report = try builder.build(photos: cropFiles) { _, total in
            progress.total = total
            progress.advance()
        }
        let manifest = try PretextDatasetBuilder<StableDiffusionCodec, StableDiffusionDenoiser>.merge(output: dataset, shards: 1)
        status("   \(manifest.records.count) images (\(report.built) crops built, \(report.skipped) reused) in \(elapsed(since: stage))")

        stage = Date()
        let samples = TrainingSample.pretext(manifest, root: dataset)
        var splitGenerator = RandomGenerator(seed: options.seed, stream: ExampleStreams.pretextSplit)
        let groups = Array(Set(samples.map(\.group))).sorted().shuffled(using: &splitGenerator)
        let held = Set(groups.prefix(max(1, groups.count / 10)))
        let training = samples.filter { !held.contains($0.group) }, validation = samples.filter { held.contains($0.group) }
        let extractor = LowLevelFeatureExtractor()
        var initialization = RandomGenerator(seed: options.seed, stream: ExampleStreams.extractorInitialization)
        extractor.initializeParameters(using: &initialization)
        let configuration = try TrainingConfiguration(task: .pretext(PretextLoss()), learningRate: sizes.extractorLearningRate,
                                                  batchSize: sizes.extractorBatch, cropSize: sizes.extractorCrop,
                                                  epochs: sizes.extractorEpochs, checkpointInterval: 50, seed: options.seed)
        let trainer = try ExtractorTrainer(extractor: extractor, configuration: configuration, training: training,
                                           validation: validation, output: trained.deletingLastPathComponent())
        status("3. extractor: training from scratch on \(training.count) images (\(sizes.extractorCrop)² crops, Adam \(sizes.extractorLearningRate), "
            + "\(sizes.extractorEpochs) epochs), validating on \(validation.count)")
        var steps = Progress(total: trainer.stepsPerEpoch * sizes.extractorEpochs, unit: "steps")
        var resumed = false
        let metrics = try trainer.run { p in
            if !resumed { steps.advance(by: p.step - 1); resumed = true }
            steps.advance()
        }
        for row in metrics {
            status(String(format: "   epoch %d: training loss %.3f, validation loss %.3f, 11-class accuracy %.3f (chance 0.091)",
                          row.epoch, row.trainingLoss, row.validationLoss, row.validationAccuracy))
        }
        guard let last = metrics.last else { throw RunError(description: "extractor training in \(trained.path) returned no epoch") }
        try JSONEncoder().encode(last).write(to: finalMetrics, options: .atomic)
        // The weights are written last: their presence (with the metrics) means the stage is done.
        try extractor.save(to: trained, metadata: ["source": "train-then-detect, seed \(options.seed)"])
        status("   in \(elapsed(since: stage))")
        return (extractor, last)
    }

    /// The trained extractor's held-out pretext accuracy, overall and per class, for standard output.
    func accuracyLines(_ metrics: EpochMetrics) -> [String] {
        let names = ["original", "VAE"] + (1...9).map { "level \($0)" }
        let perClass = zip(names, metrics.validationClassAccuracy).map { name, value in
            value.isNaN ? "\(name) –" : String(format: "%@ %.2f", name, value)
        }
        return [String(format: "trained here: held-out 11-class accuracy %.3f after %d epoch%@ (chance 0.091; held-out crops of the training photos)",
                       metrics.validationAccuracy, metrics.epoch, metrics.epoch == 1 ? "" : "s"),
                "  per class: " + perClass.joined(separator: ", ")]
    }

    /// The images to score.
    struct Samples {
        var fit: [Image], calibration: [Image], test: [Image]
        var generated: [(name: String, images: [Image])]
    }

    /// Stage 4: real crops (fit, calibration, test), images generated from pure noise by the
    /// diffusion model (full DDIM sampling), and VAE reconstructions of the test crops.
    func detectionSamples(_ photos: Photos, pipeline: LatentPipeline) throws -> Samples {
        let stage = Date()
        let size = sizes.cropSize
        func crops(of photos: [Image], count: Int, stream: UInt64) throws -> [Image] {
            var generator = RandomGenerator(seed: options.seed, stream: stream)
            return try RandomCrops(count: count, fixedSide: size).crops(from: photos, using: &generator)
        }
        let fit = try crops(of: photos.training, count: sizes.fitCrops, stream: ExampleStreams.fitCrops)
        let calibration = try crops(of: photos.calibration, count: sizes.calibrationCrops, stream: ExampleStreams.calibrationCrops)
        let test = try crops(of: photos.test, count: sizes.testCrops, stream: ExampleStreams.testCrops)
        let folder = work.appendingPathComponent("samples")
        try writeImages(test, to: folder.appendingPathComponent("real-test"), prefix: "real")

        let generatedFolder = folder.appendingPathComponent("generated")
        var generated = readImages(from: generatedFolder, prefix: "generated", count: sizes.generatedImages)
        if generated == nil {
            let batch = 32
            let channels = pipeline.codec.vae.configuration.latentChannels
            status("4. generating \(sizes.generatedImages) images of \(size)² from pure noise (DDIM, \(NoiseLevel.standardScheduler.timesteps.count) steps)")
            var progress = Progress(total: sizes.generatedImages * NoiseLevel.standardScheduler.timesteps.count, unit: "image-steps")
            var images: [Image] = []
            for first in stride(from: 0, to: sizes.generatedImages, by: batch) {
                let seeds = (first..<min(first + batch, sizes.generatedImages)).map {
                    RandomGenerator.derivedSeed(RandomGenerator.derivedSeed(options.seed, stream: ExampleStreams.generated), stream: UInt64($0))
                }
                let batchImages = try pipeline.generate(height: size, width: size, latentChannels: channels, seeds: seeds) { _ in
                    progress.advance(by: seeds.count)
                    return true
                }
                images += (0..<seeds.count).map { Image(batchImages.sliced(axis: 0, start: $0, end: $0 + 1).squeezed(at: [0])) }
            }
            try writeImages(images, to: generatedFolder, prefix: "generated")
            generated = images
        }
        var reconstructions: [Image] = []
        for first in stride(from: 0, to: test.count, by: 16) {
            let batch = Tensor.stack(test[first..<min(first + 16, test.count)].map { Tensor($0) })
            let decoded = try pipeline.reconstruct(batch)
            reconstructions += (0..<batch.shape[0]).map { Image(decoded.sliced(axis: 0, start: $0, end: $0 + 1).squeezed(at: [0])) }
        }
        try writeImages(reconstructions, to: folder.appendingPathComponent("vae-reconstructions"), prefix: "reconstruction")
        status("4. samples: \(fit.count) fit, \(calibration.count) calibration, \(test.count) test real crops; "
            + "\(generated!.count) generated, \(reconstructions.count) reconstructions (\(elapsed(since: stage)); PNGs in \(folder.path))")
        return Samples(fit: fit, calibration: calibration, test: test,
                       generated: [("generated from noise (DDIM)", generated!), ("VAE reconstructions", reconstructions)])
    }

    /// Stage 5: features, the detector (fitted and calibrated by `Detector.fit(features:…)`, the
    /// library's one fitting path), scores and the report of one extractor; returns its rows of
    /// the results table.
    func evaluate(_ extractor: LowLevelFeatureExtractor, name: String, folder: String, samples: Samples,
                  photos: Photos) throws -> [String] {
        let stage = Date()
        let total = samples.fit.count + samples.calibration.count + samples.test.count + samples.generated.map(\.images.count).reduce(0, +)
        status("5. \(name) extractor: features of \(total) images")
        var progress = Progress(total: total, unit: "images")
        func features(_ images: [Image]) -> Matrix {
            let tokenizer = ImageTokenizer()
            var rows: [Double] = []
            for first in stride(from: 0, to: images.count, by: 32) {
                let chunk = images[first..<min(first + 32, images.count)]
                let tokens = Tensor.concatenate(chunk.map { tokenizer.tokens($0) }, axis: 0)
                rows += Tensor.withoutGradient { extractor.features(tokens) }.scalars.map(Double.init)
                progress.advance(by: chunk.count)
            }
            return Matrix(rows: images.count, columns: LowLevelFeatureExtractor.featureDimension, elements: rows)
        }
        let fit = features(samples.fit), calibration = features(samples.calibration), test = features(samples.test)
        let generated = samples.generated.map { ($0.name, features($0.images)) }

        // The library's one fitting path: the crops of the training photos fit a fixed diagonal
        // mixture; each crop of the held-out calibration photos is scored as one image (as the
        // test and generated crops are), and the threshold is calibrated on those scores.
        var fitFeatures = Detector.FitFeatures(memberCount: 1)
        fitFeatures.training = [fit.elements.map(Float.init)]
        fitFeatures.trainingGroups = Array(0..<fit.rows)
        fitFeatures.calibration = [calibration.elements.map(Float.init)]
        fitFeatures.calibrationGroups = Array(0..<calibration.rows)
        let photoCount = photos.training.count + photos.calibration.count
        let configuration = Detector.FitConfiguration(
            mixture: GaussianMixture.Configuration(componentCount: sizes.components, covarianceType: .diagonal, regularization: 1e-6),
            mixtureChoice: .fixed, thresholdRate: 0.0005,
            calibration: Detector.Calibration(fraction: Double(photos.calibration.count) / Double(photoCount),
                                              targetFalsePositiveRate: sizes.targetFalsePositiveRate),
            crops: .wholeImage, readout: .firstToken, seed: options.seed)  // the features above are token 0's
        let provenance = Detector.Provenance(weightsFileName: name, weightsSHA256: "", parametersSHA256: Detector.parametersDigest(of: extractor))
        let detector = try Detector.fit(features: fitFeatures, extractors: [(extractor, provenance)], configuration: configuration)
        let member = detector.members[0]
        let mixture = member.mixture
        guard let calibrated = member.thresholdReport.calibration else {
            throw DetectorError.invalidConfiguration("the fit returned no calibration")
        }
        let authorsThreshold = member.thresholdReport.authorsThreshold
        let report = work.appendingPathComponent("report/\(folder)")
        try FileManager.default.createDirectory(at: report, withIntermediateDirectories: true)
        try detector.save(to: report.appendingPathComponent("detector.safetensors"))

        let testScores = try mixture.scoreSamples(test)
        let real = ScoredSource(name: "held-out real", sampleNames: (0..<test.rows).map { "real-\($0)" }, logLikelihoods: testScores, features: test)
        let fakes = try generated.map { source, matrix in
            ScoredSource(name: source, sampleNames: (0..<matrix.rows).map { "\(source)-\($0)" },
                         logLikelihoods: try mixture.scoreSamples(matrix), features: matrix)
        }
        let scores = [SettingScores(perturbation: .original, real: real, generated: fakes)]
        let evaluation = EvaluationReport(threshold: calibrated.threshold, settings: scores, provenance: [
            "extractor": name, "seed": "\(options.seed)", "crop": "\(sizes.cropSize)", "mixture": "\(sizes.components) components, diagonal",
            "threshold": "calibrated on \(calibration.rows) held-out real crops for a \(sizes.targetFalsePositiveRate) false-positive rate",
        ])
        try evaluation.write(to: report, scores: scores)

        /// A rate's Clopper–Pearson 95 % interval over `count` samples (the rate's own column: FPR for real rows, TPR otherwise).
        func interval(_ rate: Double, _ count: Int) -> String {
            let range = BinomialProportion.clopperPearsonInterval(successes: Int((rate * Double(count)).rounded()), trials: count)
            return String(format: "%.3f–%.3f", range.lowerBound, range.upperBound)
        }
        func row(_ source: String, _ count: Int, auc: String, tpr: String, fpr: String, interval: String) -> String {
            tableRow(name, source, "\(count)", auc, tpr, fpr, interval)
        }
        let calibrationRate = calibrated.realisedFalsePositiveRate
        var rows = [row("held-out real (calibration)", calibration.rows, auc: "–", tpr: "–",
                        fpr: String(format: "%.3f", calibrationRate), interval: interval(calibrationRate, calibration.rows))]
        let table = evaluation.settings[0].table
        let testRate = table.rows[0].metrics.falsePositiveRate
        rows.append(row("held-out real (test)", test.rows, auc: "–", tpr: "–",
                        fpr: String(format: "%.3f", testRate), interval: interval(testRate, test.rows)))
        for tableRow in table.rows {
            let m = tableRow.metrics
            let source = tableRow.generator == GeneratorTable.pooledName ? "all generated" : tableRow.generator
            rows.append(row(source, m.generatedCount, auc: String(format: "%.3f", m.areaUnderCurve),
                            tpr: String(format: "%.3f", m.truePositiveRate), fpr: String(format: "%.3f", m.falsePositiveRate),
                            interval: interval(m.truePositiveRate, m.generatedCount)))
        }
        status("   \(name): mixture of \(sizes.components) on \(fit.rows) crops, threshold \(String(format: "%.1f", calibrated.threshold)) "
            + "(authors' in-sample rule: \(String(format: "%.1f", authorsThreshold))); report in \(report.path) (\(elapsed(since: stage)))")
        return rows
    }

    /// One line of the results table: left-aligned text columns, right-aligned numbers.
    func tableRow(_ extractor: String, _ source: String, _ count: String, _ auc: String, _ tpr: String, _ fpr: String,
                  _ interval: String) -> String {
        func left(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        return left(extractor, 15) + " " + left(source, 28) + right(count, 6) + right(auc, 8) + right(tpr, 8) + right(fpr, 8) + "   " + interval
    }

    /// The 1-minute load average, as `uptime` shows it.
    func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "unknown"
    }
}
