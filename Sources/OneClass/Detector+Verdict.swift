import Foundation
import Imaging

extension Detector {
    /// The verdict on one image.
    ///
    /// **Act on ``decision``.** It is ``Decision/real``, ``Decision/generated`` or
    /// ``Decision/uncertain`` with ``reasons``; ``isGenerated`` keeps its earlier meaning (some
    /// member's log-likelihood is below its threshold) for code written before `decision`
    /// existed, and ignores both the detector's domain and the calibration's resolution.
    /// Migration: replace `verdict.isGenerated` with `verdict.decision == .generated` and decide
    /// what to do with `.uncertain` (report it, or send the image to a person).
    ///
    /// The rule (``Detector/verdict(logLikelihoods:patchCount:source:perCropLogLikelihoods:reencoded:)``):
    /// 1. **uncertain** when the detector records the domain it was fitted on
    ///    (``FitSummary/domain``) and the image lies outside it (``DetectorDomain/reasons(for:patchCount:)``:
    ///    a format, bit depth, colour layout, JPEG chroma or quantisation the fit never saw, a JPEG
    ///    quality or a size outside the fitted range): its score means nothing there;
    /// 2. else **generated** when some member's calibration band (``ThresholdReport/band``) calls
    ///    its log-likelihood generated — flagged at every false-positive rate the calibration
    ///    supports, so the joint rule flags it too;
    /// 3. else **uncertain** when some member's log-likelihood lies inside its band: the
    ///    calibration set is too small to say on which side of the target rate it falls
    ///    (``UncertaintyBand``);
    /// 4. else the joint rule: generated when ``isGenerated``, real otherwise. Members without a
    ///    band (the authors' in-sample threshold) only take part here;
    /// 5. optionally (``Stability``, off by default), **uncertain** as well when steps 2–4 call the
    ///    image real and one benign re-encode of it generated, or the other way round (reason
    ///    `stability`; the re-encoded scores are in ``stability``).
    public struct Verdict: Codable, Equatable, Sendable {
        /// What to do with the image.
        public enum Decision: String, Codable, CaseIterable, Sendable {
            /// A real photograph, at every rate the calibration supports.
            case real
            /// AI-generated.
            case generated
            /// The detector cannot say (see ``Verdict/reasons``).
            case uncertain
        }

        /// Why a verdict is uncertain: a stable code and one sentence for a person.
        public struct Reason: Codable, Equatable, Hashable, Sendable {
            /// A short stable identifier: a ``DomainReason/code`` (`format`, `bit-depth`,
            /// `components`, `chroma`, `quantisation-tables`, `jpeg-quality`, `patch-count`),
            /// `threshold-band` or `stability`.
            public var code: String
            /// One sentence naming the value and what the detector knows.
            public var message: String

            /// Creates a reason.
            public init(code: String, message: String) {
                self.code = code
                self.message = message
            }

            /// The reason for an image outside the detector's domain.
            public init(_ reason: DomainReason) {
                self.init(code: reason.code, message: reason.description)
            }
        }

        /// Each member's log-likelihood of the image's feature, in member order (aggregated over
        /// the crops with multi-crop ``Scoring``).
        public let logLikelihoods: [Double]
        /// Each member's threshold, in member order.
        public let thresholds: [Double]
        /// The number of 16×16 patch tokens of the whole image (after the tokenizer's cap) —
        /// the size the domain check compares; each scored crop has `(S/16)²`.
        public let patchCount: Int
        /// Whether some member's log-likelihood is below its threshold (the joint rule alone).
        /// Kept for compatibility: act on ``decision``, which also says when the detector
        /// cannot tell.
        public let isGenerated: Bool
        /// The decision to act on (see the type's rule).
        public let decision: Decision
        /// Why the decision is ``Decision/uncertain`` (empty otherwise).
        public let reasons: [Reason]
        /// With multi-crop scoring (`K > 1`), each crop's per-member log-likelihoods
        /// `[crop][member]`, crops in grid order; nil when the image was scored as one sample.
        public let perCropLogLikelihoods: [[Double]]?
        /// With the stability check (``Detector/Stability``), the re-encoded image's scores and
        /// decision; nil without it.
        public let stability: StabilityCheck?

        /// Judges log-likelihoods against thresholds with the joint rule alone: the decision is
        /// generated or real as ``isGenerated`` says, without reasons (for hand-made detectors
        /// and code written before ``decision`` existed).
        ///
        /// - Precondition: one log-likelihood per threshold.
        public init(logLikelihoods: [Double], thresholds: [Double], patchCount: Int) {
            let generated = !JointThreshold(thresholds: thresholds).isReal(logLikelihoods)
            self.init(logLikelihoods: logLikelihoods, thresholds: thresholds, patchCount: patchCount,
                      decision: generated ? .generated : .real, reasons: [], perCropLogLikelihoods: nil, stability: nil)
        }

        /// Creates a verdict with every field given; ``isGenerated`` follows from the scores.
        ///
        /// - Precondition: one log-likelihood per threshold.
        public init(logLikelihoods: [Double], thresholds: [Double], patchCount: Int, decision: Decision,
                    reasons: [Reason], perCropLogLikelihoods: [[Double]]?, stability: StabilityCheck? = nil) {
            self.logLikelihoods = logLikelihoods
            self.thresholds = thresholds
            self.patchCount = patchCount
            isGenerated = !JointThreshold(thresholds: thresholds).isReal(logLikelihoods)
            self.decision = decision
            self.reasons = reasons
            self.perCropLogLikelihoods = perCropLogLikelihoods
            self.stability = stability
        }

        /// Whether some member votes real by the joint rule (`!isGenerated`); act on ``decision``.
        public var isReal: Bool { !isGenerated }

        enum CodingKeys: String, CodingKey {
            case logLikelihoods, thresholds, patchCount, isGenerated, decision, reasons, perCropLogLikelihoods, stability
        }

        /// Decodes a verdict; one written before ``decision`` existed reads with the joint rule's
        /// decision and no reasons, one without ``stability`` with nil.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            logLikelihoods = try container.decode([Double].self, forKey: .logLikelihoods)
            thresholds = try container.decode([Double].self, forKey: .thresholds)
            guard logLikelihoods.count == thresholds.count, !thresholds.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .thresholds, in: container,
                    debugDescription: "\(logLikelihoods.count) log-likelihoods for \(thresholds.count) thresholds")
            }
            patchCount = try container.decode(Int.self, forKey: .patchCount)
            isGenerated = !JointThreshold(thresholds: thresholds).isReal(logLikelihoods)
            decision = try container.decodeIfPresent(Decision.self, forKey: .decision) ?? (isGenerated ? .generated : .real)
            reasons = try container.decodeIfPresent([Reason].self, forKey: .reasons) ?? []
            perCropLogLikelihoods = try container.decodeIfPresent([[Double]].self, forKey: .perCropLogLikelihoods)
            stability = try container.decodeIfPresent(StabilityCheck.self, forKey: .stability)
        }

        /// Encodes every field.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(logLikelihoods, forKey: .logLikelihoods)
            try container.encode(thresholds, forKey: .thresholds)
            try container.encode(patchCount, forKey: .patchCount)
            try container.encode(isGenerated, forKey: .isGenerated)
            try container.encode(decision, forKey: .decision)
            try container.encode(reasons, forKey: .reasons)
            try container.encodeIfPresent(perCropLogLikelihoods, forKey: .perCropLogLikelihoods)
            try container.encodeIfPresent(stability, forKey: .stability)
        }
    }

    /// The verdict on per-member log-likelihoods (from ``score(_:path:)`` or
    /// ``logLikelihoods(features:path:)``), by the rule of ``Verdict``: the domain check (when
    /// `source` is given and the detector records a domain), each member's calibration band,
    /// then the joint rule, and the stability check when `reencoded` is given.
    ///
    /// - Parameters:
    ///   - logLikelihoods: one per member, in member order.
    ///   - patchCount: the whole image's patch tokens (``ImageTokenizer/patchCount(width:height:)``).
    ///   - source: what the image file is (`ImageSourceDescription`); nil skips the domain check
    ///     (an image with no file).
    ///   - perCropLogLikelihoods: the per-crop scores to report (`[crop][member]`), or nil.
    ///   - reencoded: the re-encode of the stability check and the re-encoded image's per-member
    ///     log-likelihoods (``Stability``), or nil for no stability check.
    /// - Precondition: one log-likelihood per member (for the re-encoded image too).
    public func verdict(logLikelihoods: [Double], patchCount: Int, source: ImageSourceDescription?,
                        perCropLogLikelihoods: [[Double]]? = nil,
                        reencoded: (stability: Stability, logLikelihoods: [Double])? = nil) -> Verdict {
        precondition(logLikelihoods.count == members.count,
                     "Detector.verdict: \(logLikelihoods.count) log-likelihoods for \(members.count) members")
        var reasons: [Verdict.Reason] = []
        if let domain = fitSummary?.domain, let source {
            reasons = domain.reasons(for: source, patchCount: patchCount).map(Verdict.Reason.init)
        }
        let scored = scoreDecision(logLikelihoods)
        var decision: Verdict.Decision
        if !reasons.isEmpty {
            decision = .uncertain
            reasons += scored.reasons
        } else {
            decision = scored.decision
            reasons = decision == .uncertain ? scored.reasons : []
        }
        var check: StabilityCheck?
        if let reencoded {
            precondition(reencoded.logLikelihoods.count == members.count,
                         "Detector.verdict: \(reencoded.logLikelihoods.count) re-encoded log-likelihoods for \(members.count) members")
            let after = scoreDecision(reencoded.logLikelihoods).decision
            let flips = Set([scored.decision, after]) == [.real, .generated]
            check = StabilityCheck(reencode: reencoded.stability.description, logLikelihoods: reencoded.logLikelihoods,
                                   decision: after, flips: flips)
            if flips {
                decision = .uncertain
                reasons.append(Self.stabilityReason(stability: reencoded.stability, original: scored.decision,
                                                    originalScores: logLikelihoods, reencoded: after,
                                                    reencodedScores: reencoded.logLikelihoods))
            }
        }
        return Verdict(logLikelihoods: logLikelihoods, thresholds: thresholds, patchCount: patchCount, decision: decision,
                       reasons: reasons, perCropLogLikelihoods: perCropLogLikelihoods, stability: check)
    }

    /// Steps 2–4 of the ``Verdict`` rule (no domain check): generated when some member's band
    /// calls its score generated; else uncertain when some score lies in its band; else the joint
    /// rule — with the reasons of every score inside its band (whatever the decision).
    func scoreDecision(_ logLikelihoods: [Double]) -> (decision: Verdict.Decision, reasons: [Verdict.Reason]) {
        var reasons: [Verdict.Reason] = []
        var decidedGenerated = false
        for (index, (member, score)) in zip(members, logLikelihoods).enumerated() {
            guard let band = member.thresholdReport.band else { continue }
            switch band.decision(score) {
            case .generated: decidedGenerated = true
            case .real: break
            case .uncertain: reasons.append(Self.bandReason(member: index, score: score, band: band))
            }
        }
        if decidedGenerated { return (.generated, reasons) }
        if !reasons.isEmpty { return (.uncertain, reasons) }
        return (JointThreshold(thresholds: thresholds).isReal(logLikelihoods) ? .real : .generated, [])
    }

    /// The joint verdict on per-member log-likelihoods without a source file (no domain check);
    /// see ``verdict(logLikelihoods:patchCount:source:perCropLogLikelihoods:reencoded:)``.
    ///
    /// - Precondition: one log-likelihood per member.
    public func verdict(logLikelihoods: [Double], patchCount: Int) -> Verdict {
        verdict(logLikelihoods: logLikelihoods, patchCount: patchCount, source: nil)
    }

    /// The sentence for a score inside a member's band.
    static func bandReason(member: Int, score: Double, band: UncertaintyBand) -> Verdict.Reason {
        let interval = band.falsePositiveRateInterval
        let lower = band.generatedAtOrBelow.map { String(format: "%.2f", $0) } ?? "−∞"
        var message = String(format: "extractor %d's log-likelihood %.2f lies in (%@, %.2f], around the threshold %.2f, where the %d calibration photos cannot tell its false-positive rate from the target's interval [%.3f, %.3f]",
                             member, score, lower, band.realAbove, band.threshold, band.calibrationCount,
                             interval.lowerBound, interval.upperBound)
        if !band.canDecideGenerated {
            message += "; with so few calibration photos no image can be called generated at this target (calibrate on more photos)"
        }
        return Verdict.Reason(code: "threshold-band", message: message)
    }
}
