/// The scores a calibrated threshold cannot resolve: near the threshold, the calibration set is
/// too small to say on which side of the target false-positive rate a score lies.
///
/// **The rule.** Let the calibration log-likelihoods of `N` held-out real photos be sorted,
/// `c₀ ≤ … ≤ c_{N−1}`; the threshold is `c_m`, `m = ⌊N·α⌋` for the target rate `α` (as
/// ``CalibratedThreshold`` chooses it), and `[p_L, p_U]` is the exact Clopper–Pearson interval of
/// the rate for `m` flagged of `N` at the confidence level. A score `s` has the empirical position
/// `k(s) = #{i : cᵢ < s}` — the calibration photos it would flag. Then, with
/// `a = ⌈N·p_L⌉` and `b = ⌊N·p_U⌋`,
/// - `k(s) < a` and `s` below the threshold → ``Decision/generated``: even the lowest rate the
///   calibration supports flags it. Equivalently `s ≤ c_{a−1}` (never when `a = 0`);
/// - `k(s) > b` → ``Decision/real``: even the highest rate it supports clears it. Equivalently
///   `s > c_b`;
/// - otherwise ``Decision/uncertain``: `k(s)/N` lies inside the interval of the target's rate.
///
/// So the band is `(c_{a−1}, c_b]` — the thresholds a calibration at the interval's lower and upper
/// rates would choose bound it. It contains the threshold, and it narrows as `N` grows (the
/// interval's width falls like `1/√N`). Decided verdicts agree with ``CalibratedThreshold/isReal(_:)``.
///
/// **Degenerate cases.** When `N·α < 1` (`m = 0`) the lower rate is 0, `a = 0`, and no score is
/// ever called generated — the calibration set cannot support a verdict of "generated" at that
/// target (``canDecideGenerated`` is false; say so to the user). With ties at the band's edges
/// the band may be empty or the threshold may sit on its upper edge; a score equal to a tied
/// threshold that the band would call generated is called uncertain instead.
public struct UncertaintyBand: Codable, Equatable, Sendable {
    /// What a score means under the band.
    public enum Decision: String, Codable, Sendable, CaseIterable {
        /// Below the band: flagged as AI-generated at every rate the calibration supports.
        case generated
        /// Above the band: real at every rate the calibration supports.
        case real
        /// In the band: the calibration set cannot resolve it.
        case uncertain
    }

    /// The calibrated threshold (`c_m`): real when the log-likelihood is ≥ it.
    public let threshold: Double
    /// Scores at or below this (`c_{a−1}`) and below ``threshold`` are generated; nil when none is.
    public let generatedAtOrBelow: Double?
    /// Scores strictly above this (`c_b`) are real.
    public let realAbove: Double
    /// The interval `[p_L, p_U]` of the rate the band was drawn from.
    public let falsePositiveRateInterval: ClosedRange<Double>
    /// The number `N` of calibration samples.
    public let calibrationCount: Int

    /// Whether any score can be called generated (false when `N·α < 1`).
    public var canDecideGenerated: Bool { generatedAtOrBelow != nil }

    /// Draws the band of a threshold from the log-likelihoods it was calibrated on.
    ///
    /// - Parameters:
    ///   - calibration: the calibrated threshold.
    ///   - calibrationLogLikelihoods: the same held-out log-likelihoods it was calibrated on.
    /// - Throws: ``UncertaintyBandError`` for an empty list, a non-finite log-likelihood, or a list
    ///   that is not the one the threshold was calibrated on (another count or threshold).
    public init(calibration: CalibratedThreshold, calibrationLogLikelihoods: [Double]) throws(UncertaintyBandError) {
        guard !calibrationLogLikelihoods.isEmpty else { throw .emptyCalibration }
        if let index = calibrationLogLikelihoods.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteLogLikelihood(index: index, value: calibrationLogLikelihoods[index])
        }
        let sorted = calibrationLogLikelihoods.sorted()
        let count = sorted.count
        let flagged = Int((Double(count) * calibration.targetFalsePositiveRate).rounded(.down))
        guard count == calibration.calibrationCount, sorted[flagged] == calibration.threshold else {
            throw .mismatchedCalibration(expectedCount: calibration.calibrationCount, count: count)
        }
        let interval = calibration.falsePositiveRateInterval
        let lowest = Int((Double(count) * interval.lowerBound).rounded(.up))
        let highest = min(Int((Double(count) * interval.upperBound).rounded(.down)), count - 1)
        threshold = calibration.threshold
        generatedAtOrBelow = lowest >= 1 ? sorted[lowest - 1] : nil
        realAbove = sorted[max(highest, flagged)]
        falsePositiveRateInterval = interval
        calibrationCount = count
    }

    /// Calibrates a threshold (``CalibratedThreshold``) and draws its band in one step.
    ///
    /// - Throws: ``UncertaintyBandError`` for an empty list, a non-finite log-likelihood, a target
    ///   outside [0, 1) or a confidence level outside (0, 1).
    public init(calibrationLogLikelihoods: [Double], targetFalsePositiveRate: Double,
                confidenceLevel: Double = 0.95) throws(UncertaintyBandError) {
        guard !calibrationLogLikelihoods.isEmpty else { throw .emptyCalibration }
        if let index = calibrationLogLikelihoods.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteLogLikelihood(index: index, value: calibrationLogLikelihoods[index])
        }
        guard targetFalsePositiveRate >= 0, targetFalsePositiveRate < 1 else {
            throw .invalidRate(name: "targetFalsePositiveRate", value: targetFalsePositiveRate)
        }
        guard confidenceLevel > 0, confidenceLevel < 1 else {
            throw .invalidRate(name: "confidenceLevel", value: confidenceLevel)
        }
        let calibration = CalibratedThreshold(calibrationLogLikelihoods: calibrationLogLikelihoods,
                                              targetFalsePositiveRate: targetFalsePositiveRate, confidenceLevel: confidenceLevel)
        try self.init(calibration: calibration, calibrationLogLikelihoods: calibrationLogLikelihoods)
    }

    /// The decision for a log-likelihood (see the rule above). NaN is uncertain.
    public func decision(_ logLikelihood: Double) -> Decision {
        if logLikelihood > realAbove { return .real }
        if let generatedAtOrBelow, logLikelihood <= generatedAtOrBelow, logLikelihood < threshold { return .generated }
        return .uncertain
    }

    enum CodingKeys: String, CodingKey {
        case threshold, generatedAtOrBelow, realAbove, falsePositiveRateInterval, calibrationCount
    }

    /// Decodes a band and checks it is ordered: `generatedAtOrBelow ≤ threshold ≤ realAbove`, all
    /// finite, an interval inside [0, 1], at least one calibration sample.
    ///
    /// - Throws: `DecodingError` for missing or mistyped fields, ``UncertaintyBandError/inconsistentBand(detail:)``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        threshold = try container.decode(Double.self, forKey: .threshold)
        generatedAtOrBelow = try container.decodeIfPresent(Double.self, forKey: .generatedAtOrBelow)
        realAbove = try container.decode(Double.self, forKey: .realAbove)
        falsePositiveRateInterval = try container.decode(ClosedRange<Double>.self, forKey: .falsePositiveRateInterval)
        calibrationCount = try container.decode(Int.self, forKey: .calibrationCount)
        let lower = generatedAtOrBelow ?? threshold
        guard threshold.isFinite, realAbove.isFinite, lower.isFinite, lower <= threshold, threshold <= realAbove else {
            throw UncertaintyBandError.inconsistentBand(detail: "expected finite generatedAtOrBelow ≤ threshold ≤ realAbove, got \(String(describing: generatedAtOrBelow)), \(threshold), \(realAbove)")
        }
        guard falsePositiveRateInterval.lowerBound >= 0, falsePositiveRateInterval.upperBound <= 1, calibrationCount >= 1 else {
            throw UncertaintyBandError.inconsistentBand(detail: "interval \(falsePositiveRateInterval) outside [0, 1] or calibration count \(calibrationCount) < 1")
        }
    }
}

/// Why an ``UncertaintyBand`` cannot be drawn or decoded.
public enum UncertaintyBandError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No calibration log-likelihoods.
    case emptyCalibration
    /// A calibration log-likelihood is NaN or infinite.
    case nonFiniteLogLikelihood(index: Int, value: Double)
    /// A rate or confidence level outside its range.
    case invalidRate(name: String, value: Double)
    /// The log-likelihoods are not the ones the threshold was calibrated on.
    case mismatchedCalibration(expectedCount: Int, count: Int)
    /// A decoded band is not ordered or its interval is impossible.
    case inconsistentBand(detail: String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .emptyCalibration:
            "uncertainty band: no calibration log-likelihoods"
        case .nonFiniteLogLikelihood(let index, let value):
            "uncertainty band: calibration log-likelihood \(index) is \(value)"
        case .invalidRate(let name, let value):
            "uncertainty band: \(name) = \(value) is outside its range (target in [0, 1), confidence in (0, 1))"
        case .mismatchedCalibration(let expected, let count):
            "uncertainty band: the \(count) log-likelihoods are not the \(expected) the threshold was calibrated on"
        case .inconsistentBand(let detail):
            "uncertainty band: \(detail)"
        }
    }
}
