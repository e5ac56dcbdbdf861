import ArgumentParser
import Foundation
import Imaging
import NN
import OneClass
import Pretext
import Tensor

extension GaussianMixture.CovarianceType: ExpressibleByArgument {}

/// `grain evaluate`: scores real photos and each generator's images, under the original files and
/// under each robustness perturbation, and writes a report (metrics.json, CSVs, figures).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a detector on real photos and generated images; write metrics, tables and figures.",
        discussion: """
        The detector is fitted in-process on real photos: either on --fit-real DIR, or on a seeded \
        fraction (--fit-fraction) of --real, the rest of which is then the real test set. Each fit \
        photo gives --fit-crops random square crops (sides in multiples of 16 between \
        --fit-crop-min and --fit-crop-max); the mixture is fitted on their features and the \
        threshold is the authors' rule (--rate) on the training log-likelihoods.

        Test images are scored whole, or as --test-crops random crops of --test-crop-size (an \
        image no larger than that is one sample). Every setting — the original images, then each \
        --jpeg-quality and --downscale perturbation, applied in memory to every test sample of \
        both classes alike — gets its own metrics. Output in --out: metrics.json, \
        per_generator.csv, scores.csv, histogram/roc/projection (.svg and .png), robustness \
        figures, and with --save-features the features (features.safetensors).
        """)

    @Option(help: "Folder (or file) of real photos to test on.") var real: String
    @Option(parsing: .upToNextOption, help: "Folders of generated images, one per generator (the folder name names it).")
    var fake: [String]
    @Option(help: "The report folder (created).") var out: String
    @Option(help: "JPEG qualities to sweep, comma-separated (e.g. 100,90,80,70).") var jpegQuality: String?
    @Option(help: "Downscaling factors to sweep, comma-separated (e.g. 0.9,0.8,0.7,0.6,0.5).") var downscale: String?

    @OptionGroup var extractor: ExtractorOptions
    @Option(help: "Fit on every photo under this folder.") var fitReal: String?
    @Option(help: "Fit on this seeded fraction of --real and test on the rest.") var fitFraction: Double?
    @Option(help: "Random crops per fit photo.") var fitCrops = 16
    @Option(help: "Smallest fit crop side (a multiple of 16).") var fitCropMin = 64
    @Option(help: "Largest fit crop side (a multiple of 16).") var fitCropMax = 256
    @Option(help: "Mixture components.") var components = 6
    @Option(help: "Covariance type: full, diagonal, tied or spherical.") var covariance: GaussianMixture.CovarianceType = .full
    @Option(help: "Added to the covariance diagonals (scikit-learn's reg_covar).") var regularization = 1e-6
    @Option(help: "The authors' threshold rate on the training log-likelihoods.") var rate = 0.0005
    @Option(help: "Random crops per test image (0 = the whole image).") var testCrops = 0
    @Option(help: "Side of the test crops.") var testCropSize = 256
    @Option(help: "Crop: centered (correct) or authorsCompatible.") var cropMode: CropMode = .centered
    @Option(help: "At most this many 16×16 patches per image.") var maximumPatches = 19_200
    @Option(help: "Seed of the split, the crops and the mixture's initialisation.") var seed: UInt64 = 0
    @Option(help: "Re-encode every fit crop as JPEG at this quality before its features (format-matched fitting).")
    var fitJPEGQuality: Int?
    @Flag(help: "Also write every feature to features.safetensors.") var saveFeatures = false
    @Option(help: "Read the features from a features.safetensors written by --save-features instead of computing them (to refit the mixture cheaply; the crop and split options are then ignored).")
    var featuresFrom: String?

    func validate() throws {
        if let fitJPEGQuality, !(1...100).contains(fitJPEGQuality) { throw ValidationError("--fit-jpeg-quality must be in 1...100") }
        guard featuresFrom != nil || (fitReal == nil) != (fitFraction == nil) else {
            throw ValidationError("give exactly one of --fit-real and --fit-fraction (until --detector is available)")
        }
        if let fitFraction, !(fitFraction > 0 && fitFraction < 1) { throw ValidationError("--fit-fraction must be in (0, 1)") }
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

    /// Features with the name of the sample each row came from.
    struct NamedFeatures {
        var rows: [[Float]] = []
        var names: [String] = []

        var matrix: Matrix {
            Matrix(rows: rows.count, columns: rows.first?.count ?? 0, elements: rows.flatMap { $0.map(Double.init) })
        }
    }

    /// Everything the metrics are computed from: the fit features and, per setting and source,
    /// the test features.
    struct FeatureSet {
        var fit = NamedFeatures()
        /// `[setting][source]`.
        var tests: [[NamedFeatures]]
        var failures: [String: String] = [:]
        /// How the features were made.
        var provenance: [String: String] = [:]
    }

    func run() throws {
        let settings = try perturbations()
        let sourceNames = ["real"] + fake.map { ((($0 as NSString).standardizingPath) as NSString).lastPathComponent }
        guard Set(sourceNames).count == sourceNames.count else { throw ValidationError("--fake folder names must be distinct and not \"real\"") }
        let set: FeatureSet
        let fitDescription: String
        if let featuresFrom {
            set = try loadFeatures(featuresFrom, settings: settings, sourceNames: sourceNames)
            fitDescription = "features read from \(featuresFrom)"
        } else {
            set = try extractFeatures(settings: settings, sourceNames: sourceNames)
            fitDescription = "\(set.fit.names.count) crops"
        }

        let fit = try fitMixture(set.fit)
        printError(String(format: "mixture: %d × %@ on %d samples, converged %@ after %d iterations; threshold %.2f",
                          components, covariance.rawValue, set.fit.rows.count, fit.mixture.converged ? "yes" : "no",
                          fit.mixture.iterationCount, fit.threshold))
        var scores: [SettingScores] = []
        for (settingIndex, setting) in settings.enumerated() {
            var scored: [ScoredSource] = []
            for (sourceIndex, name) in sourceNames.enumerated() {
                let features = set.tests[settingIndex][sourceIndex]
                guard !features.rows.isEmpty else { throw ValidationError("\(name): no image could be scored") }
                let matrix = features.matrix
                scored.append(ScoredSource(name: name, sampleNames: features.names,
                                           logLikelihoods: try fit.mixture.scoreSamples(matrix), features: matrix))
            }
            scores.append(SettingScores(perturbation: setting, real: scored[0], generated: Array(scored.dropFirst()),
                                        failures: set.failures))
        }
        var provenance = set.provenance.merging(mixtureProvenance(fit)) { $1 }
        provenance["fit_samples"] = fitDescription
        let report = EvaluationReport(threshold: fit.threshold, settings: scores, provenance: provenance)
        let outURL = URL(fileURLWithPath: out)
        try report.write(to: outURL, scores: scores)
        if saveFeatures {
            var tensors: [(String, Tensor)] = [("fit", Tensor(set.fit.matrix))]
            var metadata = ["fit": try jsonString(set.fit.names),
                            "provenance": String(decoding: try JSONSerialization.data(withJSONObject: set.provenance, options: [.sortedKeys]), as: UTF8.self)]
            for (settingIndex, setting) in settings.enumerated() {
                for (sourceIndex, name) in sourceNames.enumerated() {
                    let features = set.tests[settingIndex][sourceIndex]
                    tensors.append(("\(setting)/\(name)", Tensor(features.matrix)))
                    metadata["\(setting)/\(name)"] = try jsonString(features.names)
                }
            }
            try SafeTensors.write(tensors, metadata: metadata, to: outURL.appendingPathComponent("features.safetensors"))
        }
        printSummary(report)
        if !set.failures.isEmpty {
            printError("\(set.failures.count) file(s) could not be scored (listed in metrics.json)")
            throw ExitCode(1)
        }
    }

    /// Reads features saved by `--save-features` (the settings and sources asked for must be there).
    func loadFeatures(_ path: String, settings: [ImagePerturbation], sourceNames: [String]) throws -> FeatureSet {
        let file = try SafeTensors(contentsOf: URL(fileURLWithPath: path))
        func read(_ key: String) throws -> NamedFeatures {
            guard file.keys.contains(key), let json = file.metadata[key],
                  let names = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String] else {
                throw ValidationError("\(path): no features \"\(key)\" (saved: \(file.keys.sorted().joined(separator: ", ")))")
            }
            let tensor = try file.tensor(named: key)
            let d = tensor.shape.count == 2 ? tensor.shape[1] : 0
            let scalars = tensor.scalars
            return NamedFeatures(rows: (0..<names.count).map { Array(scalars[($0 * d)..<(($0 + 1) * d)]) }, names: names)
        }
        let provenance = file.metadata["provenance"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        return FeatureSet(fit: try read("fit"),
                          tests: try settings.map { setting in try sourceNames.map { try read("\(setting)/\($0)") } },
                          provenance: provenance ?? [:])
    }

    /// Computes the fit features and every test feature under every setting.
    func extractFeatures(settings: [ImagePerturbation], sourceNames: [String]) throws -> FeatureSet {
        let model = try extractor.load()
        let tokenizer = PatchTokenizer(cropMode: cropMode, maximumPatches: maximumPatches)
        let featureOf = { (image: Image) -> [Float] in model.features(tokenizer.tokens(image)).scalars }

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

        var set = FeatureSet(tests: Array(repeating: Array(repeating: NamedFeatures(), count: sourceNames.count), count: settings.count),
                             provenance: extractionProvenance())
        var generator = RandomGenerator(seed: seed &+ 1)
        var fitProgress = Progress(total: fitFiles.count, unit: "fit photos")
        for file in fitFiles {
            defer { fitProgress.advance() }
            do {
                let image = try Image(contentsOfFile: file)
                for _ in 0..<fitCrops {
                    let crop = fitCropRectangle(width: image.width, height: image.height, using: &generator)
                    var sample = image.cropped(x: crop.x, y: crop.y, width: crop.width, height: crop.height)
                    if let fitJPEGQuality { sample = try ImagePerturbation.jpeg(quality: fitJPEGQuality).applied(to: sample) }
                    set.fit.rows.append(featureOf(sample))
                    set.fit.names.append("\(file)#\(crop.x),\(crop.y),\(crop.width)x\(crop.height)")
                }
            } catch {
                printError("\(file): \(error) (not used for fitting)")
            }
        }
        guard !set.fit.rows.isEmpty else { throw ValidationError("no fit photo could be read") }

        let sources = [realFiles] + (try fake.map { try imageFiles([$0]) })
        var progress = Progress(total: sources.map(\.count).reduce(0, +), unit: "test images")
        for (sourceIndex, files) in sources.enumerated() {
            for (fileIndex, file) in files.enumerated() {
                defer { progress.advance() }
                do {
                    let image = try Image(contentsOfFile: file)
                    var generator = RandomGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(sourceIndex * 1_000_003 + fileIndex + 1))
                    let crops = testCropRectangles(width: image.width, height: image.height, using: &generator)
                    var perSetting: [[[Float]]] = Array(repeating: [], count: settings.count)
                    for crop in crops {
                        let sample = crop.map { image.cropped(x: $0.x, y: $0.y, width: $0.width, height: $0.height) } ?? image
                        for (settingIndex, setting) in settings.enumerated() {
                            perSetting[settingIndex].append(featureOf(try setting.applied(to: sample)))
                        }
                    }
                    let names = crops.map { crop in crop.map { "\(file)#\($0.x),\($0.y),\($0.width)x\($0.height)" } ?? file }
                    for settingIndex in settings.indices {
                        set.tests[settingIndex][sourceIndex].rows += perSetting[settingIndex]
                        set.tests[settingIndex][sourceIndex].names += names
                    }
                } catch {
                    set.failures[file] = "\(error)"
                    printError("\(file): \(error)")
                }
            }
        }
        return set
    }

    /// The fitted mixture, its threshold and its training data.
    struct Fit {
        let mixture: GaussianMixture
        let threshold: Double
        let trainingLogLikelihoods: [Double]
    }

    func fitMixture(_ features: NamedFeatures) throws -> Fit {
        let x = features.matrix
        let configuration = GaussianMixture.Configuration(componentCount: components, covarianceType: covariance,
                                                          regularization: regularization)
        var generator = RandomGenerator(seed: seed &+ 2)
        let mixture = try GaussianMixture(fitting: x, configuration: configuration, using: &generator)
        let training = try mixture.scoreSamples(x)
        return Fit(mixture: mixture, threshold: LikelihoodThreshold.authors(trainingLogLikelihoods: training, rate: rate),
                   trainingLogLikelihoods: training)
    }

    /// A random square fit crop: side a multiple of 16 in `fitCropMin…fitCropMax` (at most the
    /// image's shorter side, floored to 16), uniform position.
    func fitCropRectangle(width: Int, height: Int, using generator: inout RandomGenerator) -> (x: Int, y: Int, width: Int, height: Int) {
        let largest = max(16, min(fitCropMax, min(width, height) / 16 * 16))
        let smallest = min(fitCropMin, largest)
        let side = min(16 * Int.random(in: (smallest / 16)...(largest / 16), using: &generator), width, height)
        let sideX = min(side, width), sideY = min(side, height)
        return (Int.random(in: 0...(width - sideX), using: &generator), Int.random(in: 0...(height - sideY), using: &generator), sideX, sideY)
    }

    /// The test samples of an image: nil (the whole image) when not cropping or when the image
    /// fits in a test crop; otherwise `testCrops` random crops of `testCropSize` (clipped to the image).
    func testCropRectangles(width: Int, height: Int, using generator: inout RandomGenerator) -> [(x: Int, y: Int, width: Int, height: Int)?] {
        guard testCrops > 0, width > testCropSize || height > testCropSize else { return [nil] }
        let w = min(testCropSize, width), h = min(testCropSize, height)
        return (0..<testCrops).map { _ in
            (Int.random(in: 0...(width - w), using: &generator), Int.random(in: 0...(height - h), using: &generator), w, h)
        }
    }

    /// How the features were made (saved with them, so a `--features-from` run reports it too).
    func extractionProvenance() -> [String: String] {
        [
            "weights": extractor.weights, "crop_mode": cropMode.rawValue, "maximum_patches": "\(maximumPatches)",
            "fit_crops_per_photo": "\(fitCrops)", "fit_crop_sides": "\(fitCropMin)...\(fitCropMax)",
            "fit_jpeg_quality": fitJPEGQuality.map { "\($0)" } ?? "none",
            "fit_split": fitReal.map { "all of \($0)" } ?? "seeded fraction \(fitFraction ?? 0) of \(real)",
            "test_samples": testCrops > 0 ? "\(testCrops) random \(testCropSize)×\(testCropSize) crops per larger image" : "whole images",
            "seed": "\(seed)",
        ]
    }

    /// How the mixture and threshold were made.
    func mixtureProvenance(_ fit: Fit) -> [String: String] {
        let n = Double(fit.trainingLogLikelihoods.count)
        let bic = -2 * fit.trainingLogLikelihoods.reduce(0, +) + Double(fit.mixture.parameterCount) * log(n)
        return [
            "components": "\(components)", "covariance_type": covariance.rawValue, "regularization": "\(regularization)",
            "threshold_rule": "authors, rate \(rate) on \(fit.trainingLogLikelihoods.count) training samples",
            "mixture_seed": "\(seed &+ 2)", "mixture_converged": "\(fit.mixture.converged)",
            "mixture_iterations": "\(fit.mixture.iterationCount)", "mixture_lower_bound": "\(fit.mixture.lowerBound)",
            "mixture_parameters": "\(fit.mixture.parameterCount)", "mixture_bic": "\(bic)",
        ]
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
