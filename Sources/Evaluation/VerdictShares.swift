import Foundation
import OneClass

/// How a detector's three-way verdicts (`real`, `generated`, `uncertain`) split per source and
/// setting of an evaluation, and the rate at which it calls the decided samples generated — the
/// false-positive rate on the real photos it did decide, the true-positive rate on the generated
/// images it did decide.
///
/// The verdicts are the detector's own (`Detector.verdict(logLikelihoods:patchCount:source:perCropLogLikelihoods:reencoded:)`):
/// the calibration band on every setting, and the domain check where the sample is a file as it
/// lies on disk (the original setting, whole images) — a perturbed sample has no file whose
/// header could be described, so its domain is not checked.
public struct VerdictShares: Codable, Equatable, Sendable {
    /// One source under one setting.
    public struct Row: Codable, Equatable, Sendable {
        /// The setting (`original`, `jpeg-q90`…).
        public var setting: String
        /// The source (`real`, or a generator's folder name).
        public var source: String
        /// Whether the source holds real photos.
        public var isReal: Bool
        /// The verdict counts.
        public var realCount: Int, generatedCount: Int, uncertainCount: Int
        /// `uncertainCount` over all samples.
        public var uncertainShare: Double
        /// Of the decided samples (real or generated), the share called generated: the
        /// false-positive rate for real photos, the true-positive rate for generated images; nil
        /// when none was decided.
        public var generatedShareOfDecided: Double?
        /// How often each reason code was given (an uncertain verdict can have several).
        public var reasonCounts: [String: Int]
        /// For a setting after the first: the samples whose verdict without the domain check is
        /// real in one of the two settings and generated in the other — what `grain detect
        /// --stability` would flag, when the setting is its re-encode (`jpeg-q90`); nil for the
        /// first setting.
        public var flipsFromOriginal: Int?

        /// All samples.
        public var sampleCount: Int { realCount + generatedCount + uncertainCount }
    }

    /// One row per setting and source, in the evaluation's order.
    public var rows: [Row]

    /// Counts the verdicts of each source under each setting.
    ///
    /// - Parameters:
    ///   - verdicts: one entry per setting and source: the samples' verdicts, with the setting's
    ///     name, the source's name and whether it is real.
    ///   - flips: per entry, the flips from the first setting (``Row/flipsFromOriginal``), or nil.
    public init(_ verdicts: [(setting: String, source: String, isReal: Bool, verdicts: [Detector.Verdict])], flips: [Int?] = []) {
        rows = verdicts.enumerated().map { index, entry in
            let counts = Dictionary(grouping: entry.verdicts, by: \.decision).mapValues(\.count)
            let real = counts[.real] ?? 0, generated = counts[.generated] ?? 0, uncertain = counts[.uncertain] ?? 0
            var reasons: [String: Int] = [:]
            for verdict in entry.verdicts where verdict.decision == .uncertain {
                for code in Set(verdict.reasons.map(\.code)) { reasons[code, default: 0] += 1 }
            }
            let total = real + generated + uncertain
            return Row(setting: entry.setting, source: entry.source, isReal: entry.isReal, realCount: real, generatedCount: generated,
                       uncertainCount: uncertain, uncertainShare: total == 0 ? 0 : Double(uncertain) / Double(total),
                       generatedShareOfDecided: real + generated == 0 ? nil : Double(generated) / Double(real + generated),
                       reasonCounts: reasons, flipsFromOriginal: index < flips.count ? flips[index] : nil)
        }
    }

    /// How many samples are decided real under one setting and generated under the other, or the
    /// other way round (same samples, in the same order).
    public static func flips(_ first: [Detector.Verdict.Decision], _ second: [Detector.Verdict.Decision]) -> Int {
        zip(first, second).filter { Set([$0, $1]) == [.real, .generated] }.count
    }

    /// The shares as text: one line per setting and source.
    public var table: String {
        var lines = ["verdicts per source (domain checked on the original files only; rate: generated among the decided — FPR for real, TPR otherwise)",
                     "setting                          source                        images   real  gen.  unc.  uncertain  rate   flips  reasons of the uncertain"]
        for row in rows {
            let rate = row.generatedShareOfDecided.map { String(format: "%5.3f", $0) } ?? "    –"
            let reasons = row.reasonCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let flips = row.flipsFromOriginal.map { String(format: "%5d", $0) } ?? "    –"
            lines.append(row.setting.padding(toLength: max(32, row.setting.count), withPad: " ", startingAt: 0) + " "
                + row.source.padding(toLength: 28, withPad: " ", startingAt: 0)
                + String(format: " %7d %6d %5d %5d   %6.1f %%  %@  %@  %@", row.sampleCount, row.realCount, row.generatedCount,
                         row.uncertainCount, 100 * row.uncertainShare, rate, flips, reasons))
        }
        return lines.joined(separator: "\n")
    }
}
