import ArgumentParser
import Foundation
import Imaging
import NN
import OneClass
import Tensor

/// `grain calibration-check`: does the stated false-positive rate hold on photos the fit never saw?
struct CalibrationCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibration-check",
        abstract: "Repeated random photo splits: fit as `grain fit` does on part of the photos, measure the false-positive rate on the rest.",
        discussion: """
            Every photo's features are extracted once (its training crops and the photo as detection scores it). \
            Then, --splits times: a seeded --test-fraction of the photos is set aside; a detector is fitted on the \
            others exactly as `grain fit` would with the same flags (calibration split by photo, mixture choice, \
            threshold); the photos set aside are judged, and their false-positive rate is compared with the rate \
            and interval the fit stated. Prints one line per split and a summary (JSON with --json).
            """)

    @OptionGroup var options: FitOptions
    @Option(name: .customLong("real"), parsing: .upToNextOption, help: "Folders or files of real photographs (JPEG, PNG).")
    var real: [String]
    @Option(parsing: .unconditional, help: "How many random splits.") var splits = 20
    @Option(parsing: .unconditional, help: "The fraction of the photos set aside as unseen test photos in each split.") var testFraction = 0.3
    @Flag(help: "Print the result as one JSON object on standard output.") var json = false

    func validate() throws {
        guard splits >= 1 else { throw ValidationError("--splits must be ≥ 1, got \(splits)") }
        guard splits <= FitStreams.maximumCalibrationCheckSplits else {
            throw ValidationError("--splits must be ≤ \(FitStreams.maximumCalibrationCheckSplits) (the random streams of more splits would overlap), got \(splits)")
        }
        guard testFraction > 0 && testFraction < 1 else { throw ValidationError("--test-fraction must be in (0, 1), got \(testFraction)") }
    }

    struct SplitResult: Codable {
        var split: Int
        var fitPhotos: Int
        var calibrationPhotos: Int
        var testPhotos: Int
        var mixture: String
        var statedRate: Double
        var statedInterval: [Double]
        var testFalsePositives: Int
        var testRate: Double
        var testInterval: [Double]
        var insideStatedInterval: Bool
        var atMostStatedUpperBound: Bool
        var warnings: [String]
    }

    func run() throws {
        var configuration = try options.configuration()
        guard configuration.calibration != nil else {
            throw ValidationError("calibration-check checks a calibrated threshold; drop --threshold authors / --preset paper or add --threshold calibrated")
        }
        let weightFiles = try resolvedWeights(options.weights).map { URL(fileURLWithPath: $0) }
        let files: [URL] = try imageFiles(real).map { URL(fileURLWithPath: $0) }
        let testCount = Int((Double(files.count) * testFraction).rounded())
        guard testCount >= 1, files.count - testCount >= 2 else {
            throw ValidationError("--real: \(files.count) photos cannot be split into \(testCount) test photos and a fit set of at least 2")
        }
        var extractors: [(LowLevelFeatureExtractor, Detector.Provenance)] = []
        for url in weightFiles {
            let extractor = try LowLevelFeatureExtractor(contentsOf: url)
            extractors.append((extractor, Detector.Provenance(weightsFileName: url.lastPathComponent, weightsSHA256: try SHA256.hexDigest(ofFileAt: url),
                                                              parametersSHA256: Detector.parametersDigest(of: extractor))))
        }
        var progress = Progress(total: files.count, unit: "photos")
        let (photos, skipped) = Detector.photoFeatures(realImages: files, extractors: extractors.map(\.0), configuration: configuration,
                                                       crops: { _ in true }, scored: { _ in true }) { _ in progress.advance() }
        for item in skipped { printError("skipped \(item.path): \(item.reason)") }
        let byIndex = Dictionary(uniqueKeysWithValues: photos.map { ($0.index, $0) })
        let baseSeed = configuration.seed
        var results: [SplitResult] = []
        var splitProgress = Progress(total: splits, unit: "splits")
        for split in 0..<splits {
            defer { splitProgress.advance() }
            var generator = RandomGenerator(seed: baseSeed, stream: FitStreams.calibrationCheckTestSplit(split))
            let order = Array(files.indices).shuffled(using: &generator)
            let test = Array(order.prefix(testCount)).sorted(), pool = Array(order.dropFirst(testCount)).sorted()
            configuration.seed = RandomGenerator.derivedSeed(baseSeed, stream: FitStreams.calibrationCheckFitSeed(split))
            let poolCalibration = try Detector.calibrationSplit(count: pool.count, configuration: configuration)
            var isCalibration = [Bool](repeating: false, count: files.count)
            for (position, index) in pool.enumerated() { isCalibration[index] = poolCalibration[position] }
            let features = Detector.FitFeatures(photos: pool.compactMap { byIndex[$0] }, isCalibration: isCalibration)
            let detector = try Detector.fit(features: features, extractors: extractors, configuration: configuration)
            let summary = detector.fitSummary!
            let joint = summary.jointCalibration!
            var flagged = 0, judged = 0
            for index in test {
                guard let photo = byIndex[index] else { continue }
                let d = LowLevelFeatureExtractor.featureDimension
                let memberFeatures = photo.scored.map { Tensor(shape: [$0.count / d, d], scalars: $0) }
                // The photo's regions scored and combined exactly as `grain detect` does.
                let perRegion = try detector.logLikelihoods(features: memberFeatures, path: files[index].path)
                let perMember = detector.scoring.aggregate(regions: perRegion)
                judged += 1
                if detector.verdict(logLikelihoods: perMember, patchCount: 0).isGenerated { flagged += 1 }
            }
            let rate = Double(flagged) / Double(max(judged, 1))
            let level = joint.confidenceLevel
            let testInterval = BinomialProportion.clopperPearsonInterval(successes: flagged, trials: max(judged, 1), confidenceLevel: level)
            let mixtures = detector.members.map { member -> String in
                let mixture = member.mixture
                let regularization = String(format: "%.0e", mixture.configuration.regularization)
                return "\(mixture.componentCount) × \(mixture.covarianceType.rawValue), reg \(regularization)"
            }
            results.append(SplitResult(
                split: split, fitPhotos: summary.trainingImageCount, calibrationPhotos: summary.calibrationImageCount, testPhotos: judged,
                mixture: mixtures.joined(separator: " + "), statedRate: joint.realisedFalsePositiveRate,
                statedInterval: [joint.falsePositiveRateInterval.lowerBound, joint.falsePositiveRateInterval.upperBound],
                testFalsePositives: flagged, testRate: rate, testInterval: [testInterval.lowerBound, testInterval.upperBound],
                insideStatedInterval: joint.falsePositiveRateInterval.contains(rate),
                atMostStatedUpperBound: rate <= joint.falsePositiveRateInterval.upperBound, warnings: summary.warnings))
        }
        let inside = results.filter(\.insideStatedInterval).count
        let belowUpper = results.filter(\.atMostStatedUpperBound).count
        let meanRate = results.map(\.testRate).reduce(0, +) / Double(results.count)
        let target = configuration.calibration!.targetFalsePositiveRate
        if json {
            struct Output: Codable {
                var photos: Int; var skipped: Int; var target: Double; var splits: [SplitResult]
                var insideStatedInterval: Int; var atMostStatedUpperBound: Int; var meanTestRate: Double
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(Output(photos: files.count, skipped: skipped.count, target: target, splits: results,
                                                               insideStatedInterval: inside, atMostStatedUpperBound: belowUpper,
                                                               meanTestRate: meanRate)), as: UTF8.self))
            return
        }
        print("split  fit  cal  test  mixture                      stated rate [interval]      unseen-photo rate  inside")
        for r in results {
            print(String(format: "%5d %4d %4d %5d  %@  %.3f [%.3f, %.3f]   %2d/%-3d = %.3f     %@", r.split, r.fitPhotos, r.calibrationPhotos, r.testPhotos,
                         r.mixture.padding(toLength: 27, withPad: " ", startingAt: 0), r.statedRate, r.statedInterval[0], r.statedInterval[1],
                         r.testFalsePositives, r.testPhotos, r.testRate, r.insideStatedInterval ? "yes" : "no"))
        }
        print(String(format: "target %.3f; mean unseen-photo false-positive rate %.3f over %d splits; inside the stated interval in %d of %d splits, at most its upper bound in %d of %d",
                     target, meanRate, results.count, inside, results.count, belowUpper, results.count))
    }
}
