import Foundation
import Imaging
import NN
import Tensor

extension Detector {
    /// Held-out calibration of the threshold (``CalibratedThreshold``): a seeded fraction of the
    /// real *photos* is kept out of the mixture's fit (every crop of a held-out photo is held
    /// out with it) and the threshold is chosen on their scores.
    public struct Calibration: Codable, Equatable, Sendable {
        /// The fraction of the real images held out of the fit to calibrate the threshold on, in
        /// (0, 1); `round(fraction · N)` images are chosen at random (seeded).
        public var fraction: Double
        /// The false-positive rate asked for on real photos. With several members each is
        /// calibrated at `target / members`, so the joint rule's rate stays at most the target
        /// on the calibration set (a union bound).
        public var targetFalsePositiveRate: Double
        /// The coverage of the reported Clopper–Pearson interval.
        public var confidenceLevel: Double

        /// The default: 20 % of the photos held out, a 5 % false-positive rate, a 95 % interval.
        public static let standard = Calibration(fraction: 0.2, targetFalsePositiveRate: 0.05)

        /// Creates a calibration setting; see ``validate()`` for the ranges.
        public init(fraction: Double, targetFalsePositiveRate: Double = 0.05, confidenceLevel: Double = 0.95) {
            self.fraction = fraction
            self.targetFalsePositiveRate = targetFalsePositiveRate
            self.confidenceLevel = confidenceLevel
        }

        /// Decodes a setting and validates it.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            fraction = try container.decode(Double.self, forKey: .fraction)
            targetFalsePositiveRate = try container.decode(Double.self, forKey: .targetFalsePositiveRate)
            confidenceLevel = try container.decode(Double.self, forKey: .confidenceLevel)
            do { try validate() } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
            }
        }

        /// Throws ``DetectorError/invalidConfiguration(_:)`` unless `0 < fraction < 1`,
        /// `0 < target < 1` and `0 < confidence < 1`.
        public func validate() throws(DetectorError) {
            guard fraction > 0 && fraction < 1 else {
                throw .invalidConfiguration("calibration fraction \(fraction), expected 0 < fraction < 1")
            }
            guard targetFalsePositiveRate > 0 && targetFalsePositiveRate < 1 else {
                throw .invalidConfiguration("target false-positive rate \(targetFalsePositiveRate), expected 0 < rate < 1")
            }
            guard confidenceLevel > 0 && confidenceLevel < 1 else {
                throw .invalidConfiguration("confidence level \(confidenceLevel), expected 0 < level < 1")
            }
        }

        /// The smallest number of calibration images from which this target can be supported:
        /// from it on, the upper bound of the Clopper–Pearson interval of `⌊N·target⌋` flagged
        /// out of `N` is at most twice the target (the bound is not monotone in `N` because of
        /// the floor, so "from it on" is checked over the next 256 counts); nil when no count up
        /// to 100,000 qualifies.
        public var minimumSupportingCount: Int? {
            var run = 0
            for n in 1...100_000 {
                let flagged = Int((Double(n) * targetFalsePositiveRate).rounded(.down))
                let upper = BinomialProportion.clopperPearsonInterval(successes: flagged, trials: n, confidenceLevel: confidenceLevel).upperBound
                run = upper <= 2 * targetFalsePositiveRate ? run + 1 : 0
                if run == 256 { return n - run + 1 }
            }
            return nil
        }
    }

    /// How the mixture is chosen.
    public enum MixtureChoice: Codable, Equatable, Sendable {
        /// Exactly the mixture of ``FitConfiguration/mixture``.
        case fixed
        /// Chosen by photo-grouped cross-validation over `grid` with `folds` folds
        /// (``MixtureSelection``); ``FitConfiguration/mixture`` supplies the other settings
        /// (tolerance, iterations, initialisation).
        case crossValidated(grid: MixtureSelection.Grid, folds: Int)

        /// The default: ``MixtureSelection/Grid/standard`` with 5 folds.
        public static let standard = MixtureChoice.crossValidated(grid: .standard, folds: MixtureSelection.defaultFolds)
    }

    /// The settings of ``fit(realImages:weights:configuration:progress:)``.
    ///
    /// The defaults of ``init()`` are Grain's recommendation, measured in
    /// Documentation/Results.md: the mixture chosen by photo-grouped cross-validation, the
    /// threshold calibrated on 20 % of the photos for a 5 % false-positive rate, 32 random crops
    /// per training photo with sides from 64 to 256, and the mean over the transformer's tokens
    /// as the feature (`FeatureReadout.meanOfTokens`). ``paper`` reproduces the authors'
    /// settings (token 0); the initialisers that take the fields keep token 0 unless told.
    public struct FitConfiguration: Codable, Equatable, Sendable {
        /// The mixture settings; with ``mixtureChoice`` `.fixed` exactly this mixture is fitted,
        /// with `.crossValidated` its component count, covariance type and regularisation are
        /// replaced by the chosen candidate's.
        public var mixture: GaussianMixture.Configuration
        /// Whether the mixture is fixed or chosen by cross-validation.
        public var mixtureChoice: MixtureChoice
        /// The authors' threshold rate: the fraction of training samples below the in-sample
        /// threshold (the paper's 0.0005). Used for the threshold when ``calibration`` is nil.
        public var thresholdRate: Double
        /// Held-out calibration of the threshold; `nil` uses the authors' in-sample rule.
        public var calibration: Calibration?
        /// Crops per training image. Calibration images are scored as images are at detection
        /// time.
        public var crops: RandomCrops
        /// How images become tokens (crop mode, patch cap); stored in the detector.
        public var tokenizer: ImageTokenizer
        /// How the detector scores an image (whole, or crops at fixed positions); calibration
        /// photos are scored the same way. Stored in the detector.
        public var scoring: Scoring
        /// Which transformer output is a crop's or region's feature (`FeatureReadout`: the mean
        /// over all tokens in ``init()``, token 0, the authors', in ``paper`` and by default in
        /// the field-wise initialisers). Stored in the detector.
        public var readout: FeatureReadout
        /// Benign transformations (JPEG re-encode, downscale, PNG round trip) drawn per photo
        /// (seeded) and applied to every fit and calibration photo before its crops or scores;
        /// nil: the photos as decoded.
        public var augmentation: ImageAugmentation?
        /// Fixes every random choice: the calibration split, the crops, the cross-validation folds
        /// and the mixture's initialisation (default 42, as the authors' `random_state`).
        public var seed: UInt64
        /// The most pixels to decode per image (nil: no limit).
        public var pixelLimit: Int?

        /// Creates a configuration with every field given.
        public init(mixture: GaussianMixture.Configuration, mixtureChoice: MixtureChoice, thresholdRate: Double,
                    calibration: Calibration?, crops: RandomCrops, tokenizer: ImageTokenizer = ImageTokenizer(),
                    scoring: Scoring = .wholeImage, readout: FeatureReadout = .firstToken, augmentation: ImageAugmentation? = nil,
                    seed: UInt64 = 42, pixelLimit: Int? = Image.defaultPixelLimit) {
            self.mixture = mixture
            self.mixtureChoice = mixtureChoice
            self.thresholdRate = thresholdRate
            self.calibration = calibration
            self.crops = crops
            self.tokenizer = tokenizer
            self.scoring = scoring
            self.readout = readout
            self.augmentation = augmentation
            self.seed = seed
            self.pixelLimit = pixelLimit
        }

        /// Grain's recommended settings (see the type's documentation).
        public init() {
            self.init(mixture: GaussianMixture.Configuration(regularization: 1e-3), mixtureChoice: .standard,
                      thresholdRate: 0.0005, calibration: .standard, crops: .standardFit, readout: .meanOfTokens)
        }

        /// A configuration with a fixed mixture (the settings of earlier Grain versions, whose
        /// defaults were the paper's).
        public init(componentCount: Int, covarianceType: GaussianMixture.CovarianceType = .full,
                    regularization: Double = 1e-6, thresholdRate: Double = 0.0005, calibration: Calibration? = nil,
                    crops: RandomCrops = .wholeImage, tokenizer: ImageTokenizer = ImageTokenizer(), seed: UInt64 = 42,
                    pixelLimit: Int? = Image.defaultPixelLimit) {
            self.init(mixture: GaussianMixture.Configuration(componentCount: componentCount, covarianceType: covarianceType,
                                                             regularization: regularization),
                      mixtureChoice: .fixed, thresholdRate: thresholdRate, calibration: calibration, crops: crops,
                      tokenizer: tokenizer, seed: seed, pixelLimit: pixelLimit)
        }

        /// The paper's settings: 6 full-covariance components with regularisation 1e-6, the
        /// authors' in-sample threshold at rate 0.0005, each training image once, whole.
        public static let paper = FitConfiguration(componentCount: 6, covarianceType: .full, regularization: 1e-6,
                                                   thresholdRate: 0.0005, calibration: nil, crops: .wholeImage)

        enum CodingKeys: String, CodingKey {
            case mixture, mixtureChoice, thresholdRate, calibration, crops, tokenizer, scoring, readout, augmentation, seed, pixelLimit
        }

        /// Decodes a configuration (files written before ``mixtureChoice`` existed read as
        /// `.fixed`, before ``scoring`` as the whole image, before ``readout`` as token 0, before
        /// ``augmentation`` as none) and
        /// validates it.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            mixture = try container.decode(GaussianMixture.Configuration.self, forKey: .mixture)
            mixtureChoice = try container.decodeIfPresent(MixtureChoice.self, forKey: .mixtureChoice) ?? .fixed
            thresholdRate = try container.decode(Double.self, forKey: .thresholdRate)
            calibration = try container.decodeIfPresent(Calibration.self, forKey: .calibration)
            crops = try container.decode(RandomCrops.self, forKey: .crops)
            tokenizer = try container.decode(ImageTokenizer.self, forKey: .tokenizer)
            scoring = try container.decodeIfPresent(Scoring.self, forKey: .scoring) ?? .wholeImage
            readout = try container.decodeIfPresent(FeatureReadout.self, forKey: .readout) ?? .firstToken
            augmentation = try container.decodeIfPresent(ImageAugmentation.self, forKey: .augmentation)
            seed = try container.decode(UInt64.self, forKey: .seed)
            pixelLimit = try container.decodeIfPresent(Int.self, forKey: .pixelLimit)
            do { try validate(memberCount: 1) } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
            }
        }

        /// The regularisation a detector fit accepts (added to every covariance's diagonal;
        /// with cross-validation, every candidate's): from 1e-10 to 1. Below, a feature that is
        /// constant over the training samples (duplicate photos, a flat channel) keeps a variance
        /// below float32 resolution and degenerate log-likelihoods (at 0 the diagonal and
        /// spherical fits gave −1e32); far above, the added variance swamps the fitted one (at
        /// 1e300 every image scored exactly the threshold). 1 is also the top of
        /// ``MixtureSelection``'s candidate check.
        public static let regularizationRange: ClosedRange<Double> = 1e-10...1

        /// ``validate(memberCount:)`` and the settings that would fit a degenerate detector: a
        /// regularisation outside ``regularizationRange`` and fewer than one EM iteration (0 keeps
        /// the unfitted initialisation). Every fit checks these; reading a detector file does not,
        /// so files written before the check still load.
        ///
        /// - Throws: ``DetectorError/invalidConfiguration(_:)`` naming the setting and its range.
        public func validateForFitting(memberCount: Int) throws(DetectorError) {
            try validate(memberCount: memberCount)
            guard mixture.maxIterations >= 1 else {
                throw .invalidConfiguration("mixture maxIterations \(mixture.maxIterations), expected ≥ 1 (0 iterations would keep the unfitted initialisation as the detector's mixture)")
            }
            var regularizations = [mixture.regularization]
            if case let .crossValidated(grid, _) = mixtureChoice { regularizations = grid.candidates.map(\.regularization) }
            let range = Self.regularizationRange
            for value in regularizations where !range.contains(value) {
                throw .invalidConfiguration("mixture regularization \(value), expected \(range.lowerBound) ≤ regularization ≤ \(range.upperBound) (below, a constant feature gives degenerate log-likelihoods; above, the regularisation swamps the fitted covariance)")
            }
        }

        /// Throws ``DetectorError/invalidConfiguration(_:)`` for settings out of range.
        public func validate(memberCount: Int) throws(DetectorError) {
            guard memberCount >= 1 else { throw .invalidConfiguration("at least one extractor (weights file) is needed") }
            guard memberCount <= FitStreams.maximumMemberCount else {
                throw .invalidConfiguration("\(memberCount) extractors; at most \(FitStreams.maximumMemberCount) are supported (the random streams of more members would overlap)")
            }
            guard thresholdRate >= 0 && thresholdRate < 1 else {
                throw .invalidConfiguration("threshold rate \(thresholdRate), expected 0 ≤ rate < 1")
            }
            try calibration?.validate()
            if case let .crossValidated(grid, folds) = mixtureChoice {
                try grid.validate()
                guard folds >= 2 else { throw .invalidConfiguration("cross-validation folds \(folds), expected ≥ 2") }
            }
            try scoring.validate()
            do { try augmentation?.validate() } catch { throw .invalidConfiguration(error.description) }
            if let pixelLimit, pixelLimit < 1 {
                throw .invalidConfiguration("pixel limit \(pixelLimit), expected ≥ 1")
            }
            do {
                try GaussianMixture.validate(mixture)
            } catch {
                throw .invalidConfiguration(error.description)
            }
        }
    }
}
