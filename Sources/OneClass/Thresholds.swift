// Decision thresholds on log-likelihoods. Convention throughout: a sample is judged real when its
// log-likelihood is at least the threshold, AI-generated when it is strictly below — so on real
// photographs the false-positive rate is the fraction strictly below the threshold.

/// Threshold rules on the per-image log-likelihoods of a ``GaussianMixture``.
public enum LikelihoodThreshold {
    /// The authors' rule: sort the training log-likelihoods ascending and take the one at index
    /// `⌊N·rate⌋` (0-based), so about `rate` of the training samples fall below it.
    ///
    /// In-sample, this flags far more than `rate` of held-out real photos (the fitted mixture is
    /// tighter on its own training data); prefer ``CalibratedThreshold`` on held-out data.
    ///
    /// - Parameters:
    ///   - trainingLogLikelihoods: The log-likelihoods of the training samples (any order).
    ///   - rate: The nominal fraction below the threshold, in [0, 1) (the paper: 0.0005).
    /// - Precondition: the list is non-empty and holds no NaN; `0 ≤ rate < 1`.
    ///   Check values that come from users or files with ``validate(logLikelihoods:rate:)`` first.
    public static func authors(trainingLogLikelihoods: [Double], rate: Double = 0.0005) -> Double {
        requireValid { () throws(ThresholdError) in try validate(logLikelihoods: trainingLogLikelihoods, rate: rate) }
        let sorted = trainingLogLikelihoods.sorted()
        return sorted[Int((Double(sorted.count) * rate).rounded(.down))]
    }

    /// Throws unless `logLikelihoods` is non-empty and free of NaN and `0 ≤ rate < 1`: the
    /// requirements of ``authors(trainingLogLikelihoods:rate:)`` and ``CalibratedThreshold``.
    public static func validate(logLikelihoods: [Double], rate: Double) throws(ThresholdError) {
        guard !logLikelihoods.isEmpty else { throw .noLogLikelihoods }
        guard rate >= 0 && rate < 1 else { throw .rateOutOfRange(rate) }
        if let index = logLikelihoods.firstIndex(where: \.isNaN) { throw .notANumber(index: index) }
    }

    /// The number of `logLikelihoods` strictly below `threshold` (judged AI-generated).
    public static func countBelow(_ threshold: Double, in logLikelihoods: [Double]) -> Int {
        logLikelihoods.reduce(0) { $0 + ($1 < threshold ? 1 : 0) }
    }
}

/// A threshold calibrated on held-out real photographs for a target false-positive rate, with the
/// false-positive rate it actually has on that calibration set and an exact 95 % interval for it.
///
/// The threshold is the calibration log-likelihood at sorted index `m = ⌊N·target⌋`: exactly the
/// `m` lowest samples fall strictly below it (fewer with ties), so the realised rate `m/N` is the
/// largest attainable rate that does not exceed the target. The interval is Clopper–Pearson for
/// the true false-positive rate given `m` flagged out of `N` (valid as long as future real photos
/// are exchangeable with the calibration set — and note the threshold was chosen on the same set).
public struct CalibratedThreshold: Codable, Equatable, Sendable {
    /// The decision threshold: real when the log-likelihood is ≥ it.
    public let threshold: Double
    /// The false-positive rate asked for.
    public let targetFalsePositiveRate: Double
    /// The number `N` of held-out real samples.
    public let calibrationCount: Int
    /// The number of calibration samples strictly below ``threshold``.
    public let falsePositiveCount: Int
    /// The confidence level of ``falsePositiveRateInterval`` (default 0.95).
    public let confidenceLevel: Double
    /// The Clopper–Pearson interval for the false-positive rate.
    public let falsePositiveRateInterval: ClosedRange<Double>

    /// The false-positive rate on the calibration set, `falsePositiveCount / calibrationCount`.
    public var realisedFalsePositiveRate: Double { Double(falsePositiveCount) / Double(calibrationCount) }

    /// Calibrates a threshold on the log-likelihoods of held-out real samples.
    ///
    /// - Parameters:
    ///   - calibrationLogLikelihoods: Log-likelihoods of real photos not used to fit the mixture.
    ///   - targetFalsePositiveRate: The fraction of real photos that may be flagged, in [0, 1).
    ///   - confidenceLevel: The coverage of the reported interval, in (0, 1).
    /// - Precondition: the list is non-empty and holds no NaN; the rates are in range. Check values
    ///   from users or files with ``validate(calibrationLogLikelihoods:targetFalsePositiveRate:confidenceLevel:)`` first.
    public init(calibrationLogLikelihoods: [Double], targetFalsePositiveRate: Double, confidenceLevel: Double = 0.95) {
        requireValid { () throws(ThresholdError) in
            try Self.validate(calibrationLogLikelihoods: calibrationLogLikelihoods, targetFalsePositiveRate: targetFalsePositiveRate,
                              confidenceLevel: confidenceLevel)
        }
        let sorted = calibrationLogLikelihoods.sorted()
        threshold = sorted[Int((Double(sorted.count) * targetFalsePositiveRate).rounded(.down))]
        self.targetFalsePositiveRate = targetFalsePositiveRate
        calibrationCount = sorted.count
        falsePositiveCount = LikelihoodThreshold.countBelow(threshold, in: sorted)
        self.confidenceLevel = confidenceLevel
        falsePositiveRateInterval = BinomialProportion.clopperPearsonInterval(
            successes: falsePositiveCount, trials: sorted.count, confidenceLevel: confidenceLevel)
    }

    /// Throws unless the calibration set is non-empty and free of NaN, `0 ≤ target < 1` and
    /// `0 < confidenceLevel < 1`: the requirements of ``init(calibrationLogLikelihoods:targetFalsePositiveRate:confidenceLevel:)``.
    public static func validate(calibrationLogLikelihoods: [Double], targetFalsePositiveRate: Double,
                                confidenceLevel: Double = 0.95) throws(ThresholdError) {
        try LikelihoodThreshold.validate(logLikelihoods: calibrationLogLikelihoods, rate: targetFalsePositiveRate)
        guard confidenceLevel > 0 && confidenceLevel < 1 else { throw .confidenceLevelOutOfRange(confidenceLevel) }
    }

    /// Whether a sample with this log-likelihood is judged real (`≥ threshold`).
    public func isReal(_ logLikelihood: Double) -> Bool { logLikelihood >= threshold }
}

/// Why log-likelihoods or rates from a user or a file cannot give a threshold.
public enum ThresholdError: Error, Equatable, CustomStringConvertible {
    /// There are no log-likelihoods to take a threshold from.
    case noLogLikelihoods
    /// The rate (or target false-positive rate) is outside [0, 1).
    case rateOutOfRange(Double)
    /// The confidence level is outside (0, 1).
    case confidenceLevelOutOfRange(Double)
    /// The log-likelihood at `index` is NaN.
    case notANumber(index: Int)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .noLogLikelihoods: "no log-likelihoods to set a threshold from (is the calibration or training set empty?)"
        case .rateOutOfRange(let rate): "the rate \(rate) is outside [0, 1)"
        case .confidenceLevelOutOfRange(let level): "the confidence level \(level) is outside (0, 1)"
        case .notANumber(let index): "log-likelihood \(index) is NaN"
        }
    }
}

/// Stops with the error's description when `check` throws: the contract of a non-throwing API
/// whose inputs the caller has validated.
func requireValid(_ check: () throws(ThresholdError) -> Void) {
    do { try check() } catch { preconditionFailure("\(error)") }
}

/// The joint rule ("ours-ft" in the paper): several detectors (e.g. the basic and the fine-tuned
/// extractor, each with its own mixture and threshold); an image is real only if every
/// log-likelihood clears its own threshold.
public struct JointThreshold: Codable, Equatable, Sendable {
    /// One threshold per detector, in the order the scores are given.
    public let thresholds: [Double]

    /// Creates the rule from per-detector thresholds.
    ///
    /// - Precondition: at least one threshold.
    public init(thresholds: [Double]) {
        precondition(!thresholds.isEmpty, "JointThreshold: no thresholds")
        self.thresholds = thresholds
    }

    /// Whether an image with these per-detector log-likelihoods is judged real: each is ≥ its
    /// threshold.
    ///
    /// - Precondition: one log-likelihood per threshold.
    public func isReal(_ logLikelihoods: [Double]) -> Bool {
        precondition(logLikelihoods.count == thresholds.count,
                     "JointThreshold.isReal: \(logLikelihoods.count) log-likelihoods for \(thresholds.count) thresholds")
        return zip(logLikelihoods, thresholds).allSatisfy { $0 >= $1 }
    }

    /// The fraction of `images` (each a list of per-detector log-likelihoods of a real photo) the
    /// joint rule flags — its false-positive rate on them, at least that of any single detector.
    ///
    /// - Precondition: `images` is non-empty; each has one log-likelihood per threshold.
    public func falsePositiveRate(on images: [[Double]]) -> Double {
        precondition(!images.isEmpty, "JointThreshold.falsePositiveRate: no images")
        return Double(images.reduce(0) { $0 + (isReal($1) ? 0 : 1) }) / Double(images.count)
    }
}
