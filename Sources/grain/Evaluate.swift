import ArgumentParser
import Evaluation
import Foundation
import Imaging
import NN
import OneClass
import Tensor

/// `grain evaluate`: scores real photos and each generator's images, under the original files and
/// under each robustness perturbation, and writes a report (metrics.json, CSVs, figures).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a detector on real photos and generated images; write metrics, tables and figures.",
        discussion: """
        The detector is a file from `grain fit` (--detector), or is fitted here on real photos \
        (--weights, once per member, with --fit-real DIR or a seeded --fit-fraction of --real, the \
        rest of which is then the real test set): each fit photo gives --fit-crops random square \
        crops with sides in multiples of 16 from --fit-crop-min to --fit-crop-max, the mixture is \
        fitted on their features, the threshold is the authors' rule (--rate) on the training \
        log-likelihoods, and the fitted detector is saved as REPORT/detector.safetensors.

        Test images are scored whole, or as --test-crops random crops of --test-crop-size (an image \
        no larger is one sample). Every setting — the original images, then each --jpeg-quality \
        and --downscale perturbation, applied in memory to every test sample of both classes \
        alike — gets its own metrics. With several members the score is the joint margin \
        min over members of (log-likelihood − threshold), judged real when ≥ 0 (the joint rule); \
        each member's own report is in REPORT/member-N.

        Output in --out: metrics.json, per_generator.csv, scores.csv, histogram/roc/projection \
        (.svg and .png), robustness figures, and with --save-features every feature \
        (features.safetensors), which --features-from reads back to refit the mixture cheaply.
        Exit code 1 if any test file could not be scored (the report is still written).
        """)

    @Option(help: "Folder (or file) of real photos to test on.") var real: String
    @Option(parsing: .upToNextOption, help: "Folders of generated images, one per generator (the folder name names it).")
    var fake: [String]
    @Option(help: "The report folder (created).") var out: String
    @Option(help: "JPEG qualities to sweep, comma-separated (e.g. 100,90,80,70).") var jpegQuality: String?
    @Option(help: "Downscaling factors to sweep, comma-separated (e.g. 0.9,0.8,0.7,0.6,0.5).") var downscale: String?
    @Option(help: "Random crops per test image (0: the whole image).") var testCrops = 0
    @Option(help: "Side of the test crops.") var testCropSize = 256
    @Option(help: "Largest image to decode, in pixels.") var pixelLimit = 89_478_485

    @Option(help: "A detector file from `grain fit`.") var detector: String?

    @Option(name: .customLong("weights"), help: "Fit here: extractor weights, once per member.") var weights: [String] = []
    @Option(help: "Fit on every photo under this folder.") var fitReal: String?
    @Option(help: "Fit on this seeded fraction of --real and test on the rest.") var fitFraction: Double?
    @Option(help: "Random crops per fit photo.") var fitCrops = 16
    @Option(help: "Smallest fit crop side (a multiple of 16).") var fitCropMin = 64
    @Option(help: "Largest fit crop side (a multiple of 16).") var fitCropMax = 256
    @Option(help: "Re-encode every fit crop as JPEG at this quality first (format-matched fitting).")
    var fitJPEGQuality: Int?
    @Option(help: "Mixture components.") var components = 6
    @Option(help: "Covariance type: full, diagonal, tied or spherical.") var covariance: GaussianMixture.CovarianceType = .full
    @Option(help: "Added to the covariance diagonals (scikit-learn's reg_covar).") var regularization = 1e-6
    @Option(help: "The authors' threshold rate on the training log-likelihoods.") var rate = 0.0005
    @OptionGroup var tokenizerOptions: TokenizerOptions
    @Option(help: "Seed of the split, the crops and the mixture's initialisation.") var seed: UInt64 = 0

    @Flag(help: "Also write every feature to features.safetensors.") var saveFeatures = false
    @Option(help: "Read the features from a features.safetensors written by --save-features instead of computing them (the fit, split and crop options are then ignored; the mixture options are not).")
    var featuresFrom: String?

    func validate() throws {
        let fitting = fitReal != nil || fitFraction != nil
        if detector != nil {
            guard !fitting, weights.isEmpty else { throw ValidationError("--detector excludes --weights, --fit-real and --fit-fraction") }
        } else if featuresFrom == nil {
            guard (fitReal == nil) != (fitFraction == nil) else {
                throw ValidationError("give --detector, or exactly one of --fit-real and --fit-fraction (with --weights)")
            }
        }
        if let fitFraction, !(fitFraction > 0 && fitFraction < 1) { throw ValidationError("--fit-fraction must be in (0, 1)") }
        if let fitJPEGQuality, !(1...100).contains(fitJPEGQuality) { throw ValidationError("--fit-jpeg-quality must be in 1...100") }
        guard fitCrops >= 1 else { throw ValidationError("--fit-crops must be ≥ 1") }
        guard fitCropMin >= 16, fitCropMax >= fitCropMin, fitCropMin % 16 == 0, fitCropMax % 16 == 0 else {
            throw ValidationError("--fit-crop-min/--fit-crop-max must be multiples of 16 with 16 ≤ min ≤ max")
        }
        guard testCrops >= 0, testCropSize >= 16 else { throw ValidationError("--test-crops ≥ 0 and --test-crop-size ≥ 16") }
        guard !fake.isEmpty else { throw ValidationError("give at least one --fake folder") }
        _ = try perturbations()
    }

    /// The settings: the original images, then each JPEG quality, then each downscaling factor.
    func perturbations() throws -> [ImagePerturbation] {
        func list(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let qualities = try list(jpegQuality).map { text -> ImagePerturbation in
            guard let q = Int(text), (1...100).contains(q) else { throw ValidationError("--jpeg-quality: \(text) is not in 1...100") }
            return .jpeg(quality: q)
        }
        let factors = try list(downscale).map { text -> ImagePerturbation in
            guard let f = Double(text), f > 0, f <= 1 else { throw ValidationError("--downscale: \(text) is not in (0, 1]") }
            return .downscale(factor: f)
        }
        return [.original] + qualities + factors
    }

    /// Everything the metrics are computed from.
    struct FeatureSet {
        /// The fit samples' features (empty with --detector).
        var fit: SampleFeatures
        /// `[setting][source]`: real first, then each generator.
        var tests: [[SampleFeatures]]
        var failures: [String: String] = [:]
        /// How the features were made.
        var provenance: [String: String] = [:]
        /// The weight files, one per member.
        var weightFiles: [String]
    }

    func run() throws {
        let settings = try perturbations()
        let sourceNames = ["real"] + fake.map { ((($0 as NSString).standardizingPath) as NSString).lastPathComponent }
        guard Set(sourceNames).count == sourceNames.count else { throw ValidationError("--fake folder names must be distinct and not \"real\"") }

        // 1. Features (and, with --detector, the detector).
        let loaded: Detector? = try detector.map { path in
            do { return try Detector(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw ValidationError("\(path): \(error)")
            }
        }
        var extractors: [LowLevelFeatureExtractor] = []
        let set: FeatureSet
        if let featuresFrom {
            set = try loadFeatures(featuresFrom, settings: settings, sourceNames: sourceNames, needFit: loaded == nil)
        } else if let loaded {
            set = extractTestFeatures(settings: settings, sourceNames: sourceNames, realFiles: try imageFiles([real]),
                                      fit: SampleFeatures(memberCount: loaded.members.count), tokenizer: loaded.tokenizer,
                                      extractors: loaded.members.map(\.extractor), weightFiles: loaded.members.map(\.provenance.weightsFileName))
        } else {
            let weightFiles = weights.isEmpty ? [defaultWeights] : weights
            extractors = try weightFiles.map { try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: $0)) }
            set = try extractFeatures(settings: settings, sourceNames: sourceNames, extractors: extractors, weightFiles: weightFiles)
        }
        let memberCount = set.tests[0][0].rows.count

        // 2. Mixtures and thresholds: the detector's, or fitted on the fit features.
        var mixtures: [GaussianMixture], thresholds: [Double]
        var provenance = set.provenance
        if let loaded {
            mixtures = loaded.members.map(\.mixture)
            thresholds = loaded.thresholds
            provenance["detector"] = detector!
            for (index, member) in loaded.members.enumerated() {
                provenance["member\(index)_weights"] = member.provenance.weightsFileName
                provenance["member\(index)_mixture"] = "\(member.mixture.componentCount) × \(member.mixture.covarianceType.rawValue)"
                provenance["member\(index)_threshold"] = "\(member.threshold) (\(member.thresholdReport.rule.rawValue))"
            }
        } else {
            mixtures = []
            thresholds = []
            for member in 0..<memberCount {
                let x = set.fit.matrix(member: member)
                let configuration = GaussianMixture.Configuration(componentCount: components, covarianceType: covariance,
                                                                  regularization: regularization)
                var generator = RandomGenerator(seed: seed &+ 2 &+ UInt64(member))
                let mixture = try GaussianMixture(fitting: x, configuration: configuration, using: &generator)
                let training = try mixture.scoreSamples(x)
                let threshold = LikelihoodThreshold.authors(trainingLogLikelihoods: training, rate: rate)
                mixtures.append(mixture)
                thresholds.append(threshold)
                let bic = -2 * training.reduce(0, +) + Double(mixture.parameterCount) * log(Double(x.rows))
                provenance.merge([
                    "member\(member)_weights": set.weightFiles[member],
                    "member\(member)_mixture": "\(components) × \(covariance.rawValue), regularization \(regularization), seed \(seed &+ 2 &+ UInt64(member))",
                    "member\(member)_mixture_fit": "\(x.rows) samples, converged \(mixture.converged) after \(mixture.iterationCount) iterations, "
                        + "mean log-likelihood \(mixture.lowerBound), \(mixture.parameterCount) parameters, BIC \(bic)",
                    "member\(member)_threshold": "\(threshold) (authors' rule, rate \(rate), on the \(x.rows) training samples)",
                ]) { $1 }
                printError(String(format: "member %d: %d × %@ on %d samples, converged %@ after %d iterations; threshold %.2f",
                                  member, components, covariance.rawValue, x.rows, mixture.converged ? "yes" : "no",
                                  mixture.iterationCount, threshold))
            }
        }

        // 3. Scores and reports: the combined score at the top, each member's below when several.
        var combinedScores: [SettingScores] = []
        var memberScores = [[SettingScores]](repeating: [], count: memberCount)
        var combinedThreshold = 0.0
        for (settingIndex, setting) in settings.enumerated() {
            var combined: [ScoredSource] = []
            var perMember = [[ScoredSource]](repeating: [], count: memberCount)
            for (sourceIndex, name) in sourceNames.enumerated() {
                let features = set.tests[settingIndex][sourceIndex]
                guard features.count > 0 else { throw ValidationError("\(name): no image could be scored") }
                let scores = try Evaluation.scores(features, mixtures: mixtures, thresholds: thresholds)
                combinedThreshold = scores.combinedThreshold
                let matrices = (0..<memberCount).map { features.matrix(member: $0) }
                combined.append(ScoredSource(name: name, sampleNames: features.names, logLikelihoods: scores.combined,
                                             features: memberCount == 1 ? matrices[0] : nil))
                for member in 0..<memberCount {
                    perMember[member].append(ScoredSource(name: name, sampleNames: features.names,
                                                          logLikelihoods: scores.perMember[member], features: matrices[member]))
                }
            }
            combinedScores.append(SettingScores(perturbation: setting, real: combined[0], generated: Array(combined.dropFirst()),
                                                failures: set.failures))
            for member in 0..<memberCount {
                memberScores[member].append(SettingScores(perturbation: setting, real: perMember[member][0],
                                                          generated: Array(perMember[member].dropFirst()), failures: set.failures))
            }
        }
        let outURL = URL(fileURLWithPath: out)
        provenance["score"] = memberCount == 1 ? "log-likelihood" : "joint margin: min over members of (log-likelihood − threshold)"
        let report = EvaluationReport(threshold: combinedThreshold, settings: combinedScores, provenance: provenance,
                                      scoreLabel: memberCount == 1 ? "log-likelihood" : "joint margin: min over members of (log-likelihood - threshold)")
        try report.write(to: outURL, scores: combinedScores)
        if memberCount > 1 {
            for member in 0..<memberCount {
                var memberProvenance = provenance
                memberProvenance["score"] = "log-likelihood of member \(member) alone"
                try EvaluationReport(threshold: thresholds[member], settings: memberScores[member], provenance: memberProvenance)
                    .write(to: outURL.appendingPathComponent("member-\(member)"), scores: memberScores[member])
            }
        }

        // 4. The fitted detector and the features, for reuse.
        if loaded == nil, !extractors.isEmpty {
            let members = try extractors.enumerated().map { index, extractor in
                let url = URL(fileURLWithPath: set.weightFiles[index])
                return Detector.Member(
                    extractor: extractor, mixture: mixtures[index], threshold: thresholds[index],
                    provenance: Detector.Provenance(weightsFileName: url.lastPathComponent, weightsSHA256: try SHA256.hexDigest(ofFileAt: url),
                                                    parametersSHA256: Detector.parametersDigest(of: extractor)),
                    thresholdReport: Detector.ThresholdReport(rule: .authors, rate: rate, authorsThreshold: thresholds[index],
                                                              trainingSampleCount: set.fit.count))
            }
            try Detector(members: members, tokenizer: tokenizerOptions.tokenizer).save(to: outURL.appendingPathComponent("detector.safetensors"))
        }
        if saveFeatures { try writeFeatures(set, settings: settings, sourceNames: sourceNames, to: outURL.appendingPathComponent("features.safetensors")) }
        printSummary(report)
        if !set.failures.isEmpty {
            for (file, reason) in set.failures.sorted(by: { $0.key < $1.key }) { printError("\(file): \(reason)") }
            printError("\(set.failures.count) file(s) could not be scored (also listed in metrics.json)")
            throw ExitCode(1)
        }
    }

    // MARK: - Features

    /// The key of a saved feature matrix: member 0 plain (`fit`, `original/real`), others prefixed `memberN/`.
    static func featureKey(_ key: String, member: Int) -> String { member == 0 ? key : "member\(member)/\(key)" }

    func writeFeatures(_ set: FeatureSet, settings: [ImagePerturbation], sourceNames: [String], to url: URL) throws {
        var tensors: [(String, Tensor)] = []
        var metadata = ["provenance": String(decoding: try JSONSerialization.data(withJSONObject: set.provenance, options: [.sortedKeys]), as: UTF8.self),
                        "weights": try jsonString(set.weightFiles)]
        func add(_ key: String, _ features: SampleFeatures) throws {
            for member in features.rows.indices {
                tensors.append((Self.featureKey(key, member: member), Tensor(features.matrix(member: member))))
            }
            metadata[key] = try jsonString(features.names)
        }
        if set.fit.count > 0 { try add("fit", set.fit) }
        for (settingIndex, setting) in settings.enumerated() {
            for (sourceIndex, name) in sourceNames.enumerated() { try add("\(setting)/\(name)", set.tests[settingIndex][sourceIndex]) }
        }
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    /// Reads features saved by `--save-features` (the settings and sources asked for must be there).
    func loadFeatures(_ path: String, settings: [ImagePerturbation], sourceNames: [String], needFit: Bool) throws -> FeatureSet {
        let file = try SafeTensors(contentsOf: URL(fileURLWithPath: path))
        let weightFiles = file.metadata["weights"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String] }
            ?? [file.metadata["provenance"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }?["weights"] ?? "?"]
        let memberCount = (1...).first { !file.keys.contains(Self.featureKey("original/real", member: $0)) } ?? 1
        func read(_ key: String) throws -> SampleFeatures {
            guard let json = file.metadata[key], let names = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String] else {
                throw ValidationError("\(path): no features \"\(key)\" (saved: \(file.keys.sorted().joined(separator: ", ")))")
            }
            let rows = try (0..<memberCount).map { member -> [[Float]] in
                let tensor = try file.tensor(named: Self.featureKey(key, member: member))
                let d = tensor.shape.count == 2 ? tensor.shape[1] : 0
                let scalars = tensor.scalars
                return (0..<names.count).map { Array(scalars[($0 * d)..<(($0 + 1) * d)]) }
            }
            return SampleFeatures(names: names, rows: rows)
        }
        var provenance = file.metadata["provenance"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] } ?? [:]
        provenance["features_from"] = path
        return FeatureSet(fit: needFit ? try read("fit") : SampleFeatures(memberCount: memberCount),
                          tests: try settings.map { setting in try sourceNames.map { try read("\(setting)/\($0)") } },
                          provenance: provenance, weightFiles: weightFiles)
    }

    /// Computes the fit features (random crops of the fit photos) and every test feature.
    func extractFeatures(settings: [ImagePerturbation], sourceNames: [String], extractors: [LowLevelFeatureExtractor],
                         weightFiles: [String]) throws -> FeatureSet {
        // Which real photos fit the model and which test it.
        var realFiles = try imageFiles([real])
        var fitFiles: [String]
        if let fitReal {
            fitFiles = try imageFiles([fitReal])
        } else {
            var generator = RandomGenerator(seed: seed)
            let shuffled = realFiles.shuffled(using: &generator)
            let fitCount = Int((Double(shuffled.count) * fitFraction!).rounded())
            fitFiles = Array(shuffled[..<fitCount]).sorted()
            realFiles = Array(shuffled[fitCount...]).sorted()
        }
        guard !fitFiles.isEmpty, !realFiles.isEmpty else { throw ValidationError("no fit or no real test photos") }
        printError("fit on \(fitFiles.count) real photos × \(fitCrops) crops; test on \(realFiles.count) real photos")

        let tokenizer = tokenizerOptions.tokenizer
        var fit = SampleFeatures(memberCount: extractors.count)
        var generator = RandomGenerator(seed: seed &+ 1)
        var fitProgress = Progress(total: fitFiles.count, unit: "fit photos")
        for file in fitFiles {
            defer { fitProgress.advance() }
            do {
                let image = try Image(contentsOfFile: file, pixelLimit: pixelLimit)
                for _ in 0..<fitCrops {
                    let crop = fitCropRectangle(width: image.width, height: image.height, using: &generator)
                    var sample = image.cropped(x: crop.x, y: crop.y, width: crop.width, height: crop.height)
                    if let fitJPEGQuality { sample = try ImagePerturbation.jpeg(quality: fitJPEGQuality).applied(to: sample) }
                    let tokens = tokenizer.tokens(sample)
                    fit.append(name: "\(file)#\(crop.label)", features: extractors.map { $0.features(tokens).scalars })
                }
            } catch {
                printError("\(file): \(error) (not used for fitting)")
            }
        }
        guard fit.count > 0 else { throw ValidationError("no fit photo could be read") }
        var set = extractTestFeatures(settings: settings, sourceNames: sourceNames, realFiles: realFiles, fit: fit,
                                      tokenizer: tokenizer, extractors: extractors, weightFiles: weightFiles)
        set.provenance.merge([
            "fit_photos": "\(fitFiles.count)", "fit_crops_per_photo": "\(fitCrops)",
            "fit_crop_sides": "\(fitCropMin)...\(fitCropMax) (multiples of 16)",
            "fit_jpeg_quality": fitJPEGQuality.map { "\($0)" } ?? "none (as decoded)",
            "fit_split": fitReal.map { "all of \($0)" } ?? "seeded fraction \(fitFraction!) of \(real)",
            "fit_photo_list": fitFiles.joined(separator: "\n"),
        ]) { $1 }
        return set
    }

    /// Computes every test sample's features under every setting.
    func extractTestFeatures(settings: [ImagePerturbation], sourceNames: [String], realFiles: [String], fit: SampleFeatures,
                             tokenizer: ImageTokenizer, extractors: [LowLevelFeatureExtractor], weightFiles: [String]) -> FeatureSet {
        let sampling = TestSampling(cropsPerImage: testCrops, cropSize: testCropSize, seed: seed)
        let sources: [[URL]] = [realFiles.map { URL(fileURLWithPath: $0) }] + fake.map { ImageFiles.expand([$0]) }
        var set = FeatureSet(fit: fit, tests: Array(repeating: [], count: settings.count), weightFiles: weightFiles)
        var progress = Progress(total: sources.map(\.count).reduce(0, +), unit: "test images")
        for (sourceIndex, files) in sources.enumerated() {
            let result = Evaluation.features(
                files: files, perturbations: settings, sampling: sampling, streamBase: UInt64(sourceIndex * 1_000_003),
                memberCount: extractors.count, pixelLimit: pixelLimit,
                extract: { image in
                    let tokens = tokenizer.tokens(image)
                    return extractors.map { $0.features(tokens).scalars }
                },
                progress: { progress.advance() })
            for settingIndex in settings.indices { set.tests[settingIndex].append(result.settings[settingIndex]) }
            set.failures.merge(result.failures) { $1 }
        }
        set.provenance = [
            "weights": weightFiles.joined(separator: ", "), "crop_mode": tokenizer.cropMode.rawValue,
            "maximum_patches": "\(tokenizer.maximumPatches)", "real_test_photos": "\(realFiles.count)",
            "test_samples": testCrops > 0 ? "\(testCrops) random \(testCropSize)×\(testCropSize) crops per larger image, seed \(seed)" : "whole images",
            "generators": sourceNames.dropFirst().joined(separator: ", "),
        ]
        return set
    }

    /// A random square fit crop: side a multiple of 16 in `fitCropMin…fitCropMax` (at most the
    /// image's shorter side, floored to 16), uniform position.
    func fitCropRectangle(width: Int, height: Int, using generator: inout RandomGenerator) -> CropRectangle {
        let largest = max(16, min(fitCropMax, min(width, height) / 16 * 16))
        let smallest = min(fitCropMin, largest)
        let side = min(16 * Int.random(in: (smallest / 16)...(largest / 16), using: &generator), width, height)
        let sideX = min(side, width), sideY = min(side, height)
        return CropRectangle(x: Int.random(in: 0...(width - sideX), using: &generator), y: Int.random(in: 0...(height - sideY), using: &generator),
                             width: sideX, height: sideY)
    }

    func printSummary(_ report: EvaluationReport) {
        printError("setting          generator                       AUC     AP    acc  TPR@5%  FPR")
        for setting in report.settings {
            for row in setting.table.rows {
                let m = row.metrics
                printError(setting.name.padding(toLength: 16, withPad: " ", startingAt: 0) + " "
                    + row.generator.padding(toLength: 28, withPad: " ", startingAt: 0)
                    + String(format: " %6.3f %6.3f %6.3f %6.3f %6.3f", m.areaUnderCurve, m.averagePrecision, m.accuracy,
                             m.truePositiveRateAtFivePercentFalsePositiveRate, m.falsePositiveRate))
            }
        }
    }
}

/// A JSON array of strings.
func jsonString(_ strings: [String]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: strings), as: UTF8.self)
}
