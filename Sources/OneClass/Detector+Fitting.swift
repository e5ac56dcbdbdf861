import Foundation
import Imaging
import NN
import Tensor

extension Detector {
    /// Held-out calibration of the threshold (``CalibratedThreshold``).
    public struct Calibration: Codable, Equatable, Sendable {
        /// The fraction of the real images held out of the fit to calibrate the threshold on, in
        /// (0, 1); `round(fraction · N)` images are chosen at random (seeded).
        public var fraction: Double
        /// The false-positive rate asked for on real photos (default 1 %). With several members
        /// each is calibrated at `target / members`, so the joint rule's rate stays at most the
        /// target on the calibration set (a union bound).
        public var targetFalsePositiveRate: Double
        /// The coverage of the reported Clopper–Pearson interval (default 0.95).
        public var confidenceLevel: Double

        /// Creates a calibration setting.
        public init(fraction: Double, targetFalsePositiveRate: Double = 0.01, confidenceLevel: Double = 0.95) {
            self.fraction = fraction
            self.targetFalsePositiveRate = targetFalsePositiveRate
            self.confidenceLevel = confidenceLevel
        }
    }

    /// The settings of ``fit(realImages:weights:configuration:progress:)``.
    public struct FitConfiguration: Codable, Equatable, Sendable {
        /// The mixture settings (default: 6 components, full covariance, regularisation 1e-6,
        /// k-means++ — the paper's; the rest scikit-learn's defaults).
        public var mixture: GaussianMixture.Configuration
        /// The authors' threshold rate: the fraction of training samples below the in-sample
        /// threshold (default 0.0005). Used for the threshold unless ``calibration`` is set.
        public var thresholdRate: Double
        /// Held-out calibration of the threshold; `nil` uses the authors' in-sample rule.
        public var calibration: Calibration?
        /// Crops per training image (default: the whole image, once). Calibration images are
        /// always scored whole, as images are at detection time.
        public var crops: RandomCrops
        /// How images become tokens (crop mode, patch cap); stored in the detector.
        public var tokenizer: ImageTokenizer
        /// Fixes every random choice: the calibration split, the crops and the mixture's
        /// initialisation (default 42, as the authors' `random_state`).
        public var seed: UInt64
        /// The most pixels to decode per image (nil: no limit).
        public var pixelLimit: Int?

        /// Creates a configuration; the defaults are the paper's settings.
        public init(componentCount: Int = 6, covarianceType: GaussianMixture.CovarianceType = .full,
                    regularization: Double = 1e-6, thresholdRate: Double = 0.0005, calibration: Calibration? = nil,
                    crops: RandomCrops = .wholeImage, tokenizer: ImageTokenizer = ImageTokenizer(), seed: UInt64 = 42,
                    pixelLimit: Int? = Image.defaultPixelLimit) {
            mixture = GaussianMixture.Configuration(componentCount: componentCount, covarianceType: covarianceType,
                                                    regularization: regularization)
            self.thresholdRate = thresholdRate
            self.calibration = calibration
            self.crops = crops
            self.tokenizer = tokenizer
            self.seed = seed
            self.pixelLimit = pixelLimit
        }
    }

    /// An image left out of a fit, and why.
    public struct SkippedImage: Codable, Equatable, Sendable {
        /// The file.
        public var path: String
        /// The error, as text.
        public var reason: String
    }

    /// The joint rule's false-positive rate on the calibration images.
    public struct JointCalibration: Codable, Equatable, Sendable {
        /// The number of held-out real images scored.
        public var calibrationCount: Int
        /// How many of them the joint rule flags as generated.
        public var falsePositiveCount: Int
        /// `falsePositiveCount / calibrationCount`.
        public var realisedFalsePositiveRate: Double
        /// The Clopper–Pearson interval for the joint false-positive rate.
        public var falsePositiveRateInterval: ClosedRange<Double>
        /// The interval's coverage.
        public var confidenceLevel: Double
    }

    /// How a detector was fitted: its settings, what it was fitted on, and the calibration.
    public struct FitSummary: Codable, Equatable, Sendable {
        /// The settings used.
        public var configuration: FitConfiguration
        /// The real images the mixtures were fitted on.
        public var trainingImageCount: Int
        /// The samples (images × crops) the mixtures were fitted on.
        public var trainingSampleCount: Int
        /// The held-out real images the thresholds were calibrated on (0 without calibration).
        public var calibrationImageCount: Int
        /// Images that could not be used (unreadable, over the pixel limit, non-finite feature).
        public var skipped: [SkippedImage]
        /// The joint rule on the calibration images, when calibrated.
        public var jointCalibration: JointCalibration?
    }

    /// What ``fit(realImages:weights:configuration:progress:)`` is doing, for progress reports.
    public enum FitEvent: Sendable {
        /// `completed` of `total` images have been decoded and their features extracted.
        case extracted(completed: Int, total: Int)
        /// EM is running for member `member` on `samples` features.
        case fittingMixture(member: Int, samples: Int)
    }

    /// Fits a detector on real photographs: one member per weights file, each a mixture fitted
    /// to that extractor's features and a threshold.
    ///
    /// 1. The files are split at random (seeded) into training images and, with
    ///    ``FitConfiguration/calibration``, held-out calibration images.
    /// 2. Decoding runs on a second thread ahead of the extractors. Each training image gives
    ///    ``FitConfiguration/crops`` (K random crops, or the whole image), each crop one feature
    ///    per member; each calibration image gives one feature of the whole image. Features are
    ///    extracted once and kept in memory (528 doubles per sample and member).
    /// 3. Each member's mixture is fitted by EM (``GaussianMixture``) on its training features.
    /// 4. Thresholds: the authors' in-sample rule on the training log-likelihoods, or — with
    ///    calibration — the ``CalibratedThreshold`` of the held-out log-likelihoods at
    ///    `target / members` per member; the joint rule's realised rate and its Clopper–Pearson
    ///    interval go in the ``FitSummary``.
    ///
    /// Images that cannot be read (or give a non-finite feature) are skipped and listed in
    /// ``FitSummary/skipped``; a fit never fails because of one bad file.
    ///
    /// Randomness: from ``FitConfiguration/seed`` come independent streams for the split, for
    /// each image's crops (by its index in `realImages`, so they do not depend on which other
    /// files could be read) and for each member's mixture initialisation.
    ///
    /// - Parameters:
    ///   - realImages: real photographs (JPEG or PNG).
    ///   - weights: one extractor weight file per member (the authors' `.pth` or `.safetensors`).
    ///   - configuration: the settings (the paper's by default).
    ///   - progress: called on the calling thread after each image and before each EM fit.
    /// - Throws: ``DetectorError/weights(path:reason:)``, ``DetectorError/invalidConfiguration(_:)``,
    ///   ``DetectorError/notEnoughImages(_:)`` or ``DetectorError/mixture(member:_:)`` (for a
    ///   covariance that is not positive definite, raise the regularisation or use a diagonal
    ///   covariance).
    public static func fit(realImages: [URL], weights: [URL], configuration: FitConfiguration = FitConfiguration(),
                           progress: ((FitEvent) -> Void)? = nil) throws(DetectorError) -> Detector {
        try validate(configuration, memberCount: weights.count)
        var extractors: [(LowLevelFeatureExtractor, Provenance)] = []
        for url in weights {
            let extractor: LowLevelFeatureExtractor
            let digest: String
            do {
                extractor = try LowLevelFeatureExtractor(contentsOf: url)
                digest = try SHA256.hexDigest(ofFileAt: url)
            } catch {
                throw .weights(path: url.path, reason: "\(error)")
            }
            extractors.append((extractor, Provenance(weightsFileName: url.lastPathComponent, weightsSHA256: digest,
                                                     parametersSHA256: parametersDigest(of: extractor))))
        }
        return try fit(realImages: realImages, extractors: extractors, configuration: configuration, progress: progress)
    }

    /// ``fit(realImages:weights:configuration:progress:)`` with extractors already loaded, each
    /// with the provenance to record.
    public static func fit(realImages: [URL], extractors: [(LowLevelFeatureExtractor, Provenance)],
                           configuration: FitConfiguration = FitConfiguration(),
                           progress: ((FitEvent) -> Void)? = nil) throws(DetectorError) -> Detector {
        try validate(configuration, memberCount: extractors.count)
        let memberCount = extractors.count
        let seed = configuration.seed

        // 1. The split.
        var isCalibration = [Bool](repeating: false, count: realImages.count)
        if let calibration = configuration.calibration {
            let held = Int((Double(realImages.count) * calibration.fraction).rounded())
            guard held >= 1, held < realImages.count else {
                throw .notEnoughImages("calibrating on a fraction \(calibration.fraction) of \(realImages.count) images leaves \(held) for calibration and \(realImages.count - held) for fitting; both need at least one")
            }
            var order = Array(realImages.indices)
            var splitGenerator = RandomGenerator(seed: derivedSeed(seed, stream: 1))
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, min(Int(splitGenerator.nextUnitDouble() * Double(i + 1)), i))
            }
            for index in order.prefix(held) { isCalibration[index] = true }
        }

        // 2. Features, extracted once.
        var training = [[Float]](repeating: [], count: memberCount)
        var calibrationFeatures = [[Float]](repeating: [], count: memberCount)
        var trainingImages = 0, trainingSamples = 0, calibrationImages = 0
        var skipped: [SkippedImage] = []
        let tokenizer = configuration.tokenizer, crops = configuration.crops, pixelLimit = configuration.pixelLimit
        Prefetcher.run(count: realImages.count, lookahead: 2, prepare: { index in
            Result { () throws(DetectorError) -> Image in try decode(realImages[index], pixelLimit: pixelLimit) }
        }, consume: { index, decoded in
            defer { progress?(.extracted(completed: index + 1, total: realImages.count)) }
            let path = realImages[index].path
            let image: Image
            switch decoded {
            case let .success(value): image = value
            case let .failure(error):
                skipped.append(SkippedImage(path: path, reason: error.description))
                return
            }
            let tokens: Tensor
            if isCalibration[index] {
                tokens = tokenizer.tokens(image)
            } else {
                var cropGenerator = RandomGenerator(seed: derivedSeed(seed, stream: 1_000 &+ UInt64(index)))
                tokens = Tensor.concatenate(crops.crops(of: image, using: &cropGenerator).map { tokenizer.tokens($0) }, axis: 0)
            }
            let features = extractors.map { $0.0.features(tokens) }
            if let bad = features.firstIndex(where: { !$0.scalars.allSatisfy(\.isFinite) }) {
                skipped.append(SkippedImage(path: path, reason: DetectorError.nonFiniteFeature(path: path, member: bad).description))
                return
            }
            for member in 0..<memberCount {
                if isCalibration[index] {
                    calibrationFeatures[member] += features[member].scalars
                } else {
                    training[member] += features[member].scalars
                }
            }
            if isCalibration[index] {
                calibrationImages += 1
            } else {
                trainingImages += 1
                trainingSamples += tokens.shape[0]
            }
        })
        guard trainingImages > 0 else {
            throw .notEnoughImages("none of the \(realImages.count - (isCalibration.filter { $0 }.count)) training images could be used (\(skipped.count) skipped)")
        }
        if configuration.calibration != nil && calibrationImages == 0 {
            throw .notEnoughImages("none of the calibration images could be used (\(skipped.count) skipped)")
        }

        // 3. Mixtures, 4. thresholds.
        let d = LowLevelFeatureExtractor.featureDimension
        var members: [Member] = []
        var calibrationScores = [[Double]](repeating: [], count: calibrationImages)
        for (member, (extractor, provenance)) in extractors.enumerated() {
            progress?(.fittingMixture(member: member, samples: trainingSamples))
            let x = Matrix(rows: trainingSamples, columns: d, elements: training[member].map(Double.init))
            training[member] = []
            var generator = RandomGenerator(seed: derivedSeed(seed, stream: 2 &+ UInt64(member)))
            let mixture: GaussianMixture
            let trainingScores: [Double]
            do {
                mixture = try GaussianMixture(fitting: x, configuration: configuration.mixture, using: &generator)
                trainingScores = try mixture.scoreSamples(x)
            } catch {
                throw .mixture(member: member, error)
            }
            let authorsThreshold = LikelihoodThreshold.authors(trainingLogLikelihoods: trainingScores,
                                                               rate: configuration.thresholdRate)
            var report = ThresholdReport(rule: .authors, rate: configuration.thresholdRate, authorsThreshold: authorsThreshold,
                                         trainingSampleCount: trainingSamples)
            var threshold = authorsThreshold
            if let calibration = configuration.calibration {
                let held = Matrix(rows: calibrationImages, columns: d, elements: calibrationFeatures[member].map(Double.init))
                let scores: [Double]
                do { scores = try mixture.scoreSamples(held) } catch { throw .mixture(member: member, error) }
                for (image, score) in scores.enumerated() { calibrationScores[image].append(score) }
                let calibrated = CalibratedThreshold(
                    calibrationLogLikelihoods: scores,
                    targetFalsePositiveRate: calibration.targetFalsePositiveRate / Double(memberCount),
                    confidenceLevel: calibration.confidenceLevel)
                report.rule = .calibrated
                report.calibration = calibrated
                threshold = calibrated.threshold
            }
            members.append(Member(extractor: extractor, mixture: mixture, threshold: threshold,
                                  provenance: provenance, thresholdReport: report))
        }
        var joint: JointCalibration?
        if let calibration = configuration.calibration {
            let rule = JointThreshold(thresholds: members.map(\.threshold))
            let flagged = calibrationScores.reduce(0) { $0 + (rule.isReal($1) ? 0 : 1) }
            joint = JointCalibration(
                calibrationCount: calibrationImages, falsePositiveCount: flagged,
                realisedFalsePositiveRate: Double(flagged) / Double(calibrationImages),
                falsePositiveRateInterval: BinomialProportion.clopperPearsonInterval(
                    successes: flagged, trials: calibrationImages, confidenceLevel: calibration.confidenceLevel),
                confidenceLevel: calibration.confidenceLevel)
        }
        let summary = FitSummary(configuration: configuration, trainingImageCount: trainingImages,
                                 trainingSampleCount: trainingSamples, calibrationImageCount: calibrationImages,
                                 skipped: skipped, jointCalibration: joint)
        return Detector(members: members, tokenizer: configuration.tokenizer, fitSummary: summary)
    }

    /// Throws for settings out of range.
    private static func validate(_ configuration: FitConfiguration, memberCount: Int) throws(DetectorError) {
        guard memberCount >= 1 else { throw .invalidConfiguration("at least one extractor (weights file) is needed") }
        let rate = configuration.thresholdRate
        guard rate >= 0 && rate < 1 else { throw .invalidConfiguration("threshold rate \(rate), expected 0 ≤ rate < 1") }
        if let calibration = configuration.calibration {
            guard calibration.fraction > 0 && calibration.fraction < 1 else {
                throw .invalidConfiguration("calibration fraction \(calibration.fraction), expected 0 < fraction < 1")
            }
            let target = calibration.targetFalsePositiveRate
            guard target >= 0 && target < 1 else {
                throw .invalidConfiguration("target false-positive rate \(target), expected 0 ≤ rate < 1")
            }
            guard calibration.confidenceLevel > 0 && calibration.confidenceLevel < 1 else {
                throw .invalidConfiguration("confidence level \(calibration.confidenceLevel), expected 0 < level < 1")
            }
        }
        do {
            try GaussianMixture.validate(configuration.mixture)
        } catch {
            throw .invalidConfiguration(error.description)
        }
    }

    /// An independent seed for random stream `stream` of a fit seeded with `seed` (SplitMix64
    /// finalisation of their combination).
    static func derivedSeed(_ seed: UInt64, stream: UInt64) -> UInt64 {
        RandomGenerator.derivedSeed(seed, stream: stream)
    }
}
