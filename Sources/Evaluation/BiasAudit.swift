import Foundation
import OneClass
import Tensor

/// How much of a detector's separation survives when the file format and size are matched, and
/// the false-positive rate of each kind of real photo — the questions every detector's users ask
/// ("is it just a JPEG detector?", "false positives on my photos").
///
/// Each setting of an evaluation (the original files, then each perturbation applied to **both**
/// classes alike in memory: a JPEG round trip at one quality, a common size…) gives a pooled AUC
/// (all generators against the real photos) with a photo-level bootstrap interval: real photos are
/// resampled with all their crops, generated images one by one, `replicates` times (seeded), and
/// the 2.5 % and 97.5 % quantiles of the AUCs are the 95 % interval. For every setting other than
/// the first, ``Row/survivingFraction`` is `(AUC − 0.5) / (AUC₀ − 0.5)`: the share of the original
/// setting's separation above chance that is left once the format (or size) no longer differs
/// between the classes.
///
/// Per real source (the folder a real photo lies in), the false-positive rate at the detector's
/// threshold on the original files, with its Clopper–Pearson interval, counted per sample.
public struct BiasAudit: Codable, Equatable, Sendable {
    /// One setting's pooled separation.
    public struct Row: Codable, Equatable, Sendable {
        /// The setting (`original`, `jpeg-q90`, `size-256`…).
        public var setting: String
        /// Whether this setting matches the classes' format or size (every setting after the
        /// first applies the same transformation to both classes).
        public var matched: Bool
        /// Real samples and generated samples.
        public var realCount: Int, generatedCount: Int
        /// The pooled AUC ("generated" positive, ranked by −log-likelihood).
        public var areaUnderCurve: Double
        /// The photo-level bootstrap 95 % interval of the AUC.
        public var interval: [Double]
        /// `(AUC − 0.5) / (AUC of the first setting − 0.5)`; nil for the first setting or when the
        /// first is at chance.
        public var survivingFraction: Double?
    }

    /// The false-positive rate of one kind of real photo.
    public struct RealSource: Codable, Equatable, Sendable {
        /// The folder name.
        public var source: String
        /// Its photos and samples.
        public var photoCount: Int, sampleCount: Int
        /// Samples below the threshold.
        public var falsePositiveCount: Int
        /// `falsePositiveCount / sampleCount`.
        public var falsePositiveRate: Double
        /// The Clopper–Pearson 95 % interval (per sample; crops of one photo are correlated, so it
        /// is optimistic when there are several crops per photo).
        public var interval: [Double]
    }

    /// One row per setting, in the evaluation's order.
    public var rows: [Row]
    /// One entry per real source, sorted by name (original files).
    public var realSources: [RealSource]
    /// The bootstrap replicates and seed behind the intervals.
    public var replicates: Int, seed: UInt64

    /// The photo of a sample name (`path#crop` → `path`).
    static func photo(of sampleName: String) -> String {
        sampleName.split(separator: "#", maxSplits: 1).first.map(String.init) ?? sampleName
    }

    /// Audits the settings of an evaluation; `threshold` is the combined score's threshold,
    /// `seed` the evaluation's seed: setting `i`'s bootstrap draws from stream `i` under the
    /// derived seed of Evaluation's bootstrap stream (`EvaluationStreams.auditBootstrap`, 70,001).
    public init(settings: [SettingScores], threshold: Double, replicates: Int = 2_000, seed: UInt64 = 0) {
        self.replicates = replicates
        self.seed = seed
        var rows: [Row] = []
        let bootstrapSeed = RandomGenerator.derivedSeed(seed, stream: EvaluationStreams.auditBootstrap)
        for (index, setting) in settings.enumerated() {
            let real = setting.real
            let generated = setting.generated.flatMap(\.logLikelihoods)
            let auc = Self.auc(real: real.logLikelihoods, generated: generated)
            // Photo-level bootstrap.
            let photos = Dictionary(grouping: real.logLikelihoods.indices, by: { Self.photo(of: real.sampleNames[$0]) })
            let photoGroups = photos.keys.sorted().map { photos[$0]!.map { real.logLikelihoods[$0] } }
            var generator = RandomGenerator(seed: bootstrapSeed, stream: UInt64(index))
            var aucs: [Double] = []
            if !photoGroups.isEmpty && !generated.isEmpty {
                for _ in 0..<replicates {
                    var resampledReal: [Double] = []
                    for _ in photoGroups.indices {
                        resampledReal += photoGroups[min(Int(generator.nextUnitDouble() * Double(photoGroups.count)), photoGroups.count - 1)]
                    }
                    let resampledFake = generated.indices.map { _ in
                        generated[min(Int(generator.nextUnitDouble() * Double(generated.count)), generated.count - 1)]
                    }
                    aucs.append(Self.auc(real: resampledReal, generated: resampledFake))
                }
            }
            aucs.sort()
            let interval = aucs.isEmpty ? [auc, auc]
                : [aucs[Int(0.025 * Double(aucs.count - 1))], aucs[Int((0.975 * Double(aucs.count - 1)).rounded(.up))]]
            let first = rows.first?.areaUnderCurve
            rows.append(Row(setting: setting.perturbation.description, matched: index > 0, realCount: real.logLikelihoods.count,
                            generatedCount: generated.count, areaUnderCurve: auc, interval: interval,
                            survivingFraction: first.flatMap { abs($0 - 0.5) > 1e-12 ? (auc - 0.5) / ($0 - 0.5) : nil }))
        }
        self.rows = rows
        var sources: [RealSource] = []
        if let original = settings.first?.real {
            let bySource = Dictionary(grouping: original.logLikelihoods.indices) {
                URL(fileURLWithPath: Self.photo(of: original.sampleNames[$0])).deletingLastPathComponent().lastPathComponent
            }
            for name in bySource.keys.sorted() {
                let indices = bySource[name]!
                let flagged = indices.filter { original.logLikelihoods[$0] < threshold }.count
                let interval = BinomialProportion.clopperPearsonInterval(successes: flagged, trials: indices.count)
                sources.append(RealSource(source: name, photoCount: Set(indices.map { Self.photo(of: original.sampleNames[$0]) }).count,
                                          sampleCount: indices.count, falsePositiveCount: flagged,
                                          falsePositiveRate: Double(flagged) / Double(indices.count),
                                          interval: [interval.lowerBound, interval.upperBound]))
            }
        }
        realSources = sources
    }

    /// The AUC of generated (positive) against real, ranked by −log-likelihood, ties counted half.
    static func auc(real: [Double], generated: [Double]) -> Double {
        guard !real.isEmpty, !generated.isEmpty else { return .nan }
        var scores = [Double](); scores.reserveCapacity(real.count + generated.count)
        var labels = [SampleClass](); labels.reserveCapacity(real.count + generated.count)
        scores += real; labels += Array(repeating: .real, count: real.count)
        scores += generated; labels += Array(repeating: .generated, count: generated.count)
        return Metrics.areaUnderCurve(logLikelihoods: scores, labels: labels)
    }

    /// The audit as text: one line per setting, then one per real source.
    public var table: String {
        var lines = ["bias audit (pooled over generators; intervals: photo-level bootstrap, \(replicates) replicates)",
                     "setting                            real  generated    AUC   [95 % interval]   separation left"]
        for row in rows {
            let left = row.survivingFraction.map { String(format: "%5.0f %%", 100 * $0) } ?? "      –"
            lines.append(row.setting.padding(toLength: max(32, row.setting.count), withPad: " ", startingAt: 0)
                + String(format: " %6d %9d  %6.3f  [%.3f, %.3f]   %@", row.realCount, row.generatedCount, row.areaUnderCurve,
                         row.interval[0], row.interval[1], left))
        }
        lines.append("false positives per real source (original files, per sample, Clopper–Pearson 95 %)")
        for source in realSources {
            lines.append(source.source.padding(toLength: 24, withPad: " ", startingAt: 0)
                + String(format: " %4d photos %5d samples  %4d flagged  %.3f [%.3f, %.3f]", source.photoCount, source.sampleCount,
                         source.falsePositiveCount, source.falsePositiveRate, source.interval[0], source.interval[1]))
        }
        return lines.joined(separator: "\n")
    }
}
