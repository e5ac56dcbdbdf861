import Foundation

/// Every metric of one scoring at one threshold: the row of a results table.
///
/// Positive class "generated"; judged generated when the log-likelihood is < ``threshold``. See
/// Metrics.swift for the conventions.
public struct DetectionMetrics: Codable, Equatable, Sendable {
    /// Real photos scored.
    public let realCount: Int
    /// Generated images scored.
    public let generatedCount: Int
    /// The decision threshold on the log-likelihood.
    public let threshold: Double
    /// The decisions at ``threshold``.
    public let confusion: ConfusionCounts
    /// `(TP + TN) / N` at ``threshold``.
    public let accuracy: Double
    /// `(TPR + TNR) / 2` at ``threshold``.
    public let balancedAccuracy: Double
    /// The fraction of generated images flagged at ``threshold``.
    public let truePositiveRate: Double
    /// The fraction of real photos flagged at ``threshold``.
    public let falsePositiveRate: Double
    /// Area under the ROC curve (threshold-free), ties counting one half.
    public let areaUnderCurve: Double
    /// Average precision, step-wise, generated = positive (threshold-free).
    public let averagePrecision: Double
    /// The best TPR of a threshold flagging at most 1 % of the real photos (no interpolation).
    public let truePositiveRateAtOnePercentFalsePositiveRate: Double
    /// The best TPR of a threshold flagging at most 5 % of the real photos (no interpolation).
    public let truePositiveRateAtFivePercentFalsePositiveRate: Double
    /// The median log-likelihood of the real photos.
    public let medianRealLogLikelihood: Double
    /// The median log-likelihood of the generated images.
    public let medianGeneratedLogLikelihood: Double

    /// Computes every metric.
    ///
    /// - Parameters:
    ///   - logLikelihoods: One score per sample (higher = more real).
    ///   - labels: The true class of each sample.
    ///   - threshold: The decision threshold (e.g. OneClass's `LikelihoodThreshold.authors(trainingLogLikelihoods:rate:)`).
    /// - Precondition: as many labels as scores, no NaN, and both classes present.
    public init(logLikelihoods: [Double], labels: [SampleClass], threshold: Double) {
        let curve = ROCCurve(logLikelihoods: logLikelihoods, labels: labels)
        let confusion = ConfusionCounts(logLikelihoods: logLikelihoods, labels: labels, threshold: threshold)
        self.realCount = confusion.realCount
        self.generatedCount = confusion.generatedCount
        self.threshold = threshold
        self.confusion = confusion
        accuracy = confusion.accuracy
        balancedAccuracy = confusion.balancedAccuracy
        truePositiveRate = confusion.truePositiveRate
        falsePositiveRate = confusion.falsePositiveRate
        areaUnderCurve = curve.area
        averagePrecision = Metrics.averagePrecision(logLikelihoods: logLikelihoods, labels: labels)
        truePositiveRateAtOnePercentFalsePositiveRate = curve.truePositiveRate(atFalsePositiveRate: 0.01)
        truePositiveRateAtFivePercentFalsePositiveRate = curve.truePositiveRate(atFalsePositiveRate: 0.05)
        medianRealLogLikelihood = Metrics.median(zip(logLikelihoods, labels).filter { $1 == .real }.map(\.0))
        medianGeneratedLogLikelihood = Metrics.median(zip(logLikelihoods, labels).filter { $1 == .generated }.map(\.0))
    }
}

extension Metrics {
    /// The median (mean of the two middle values for an even count); NaN when empty.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
    }
}

/// Metrics per generator: each generator's images against the same real photos, then all
/// generators pooled — the layout of the paper's tables.
public struct GeneratorTable: Codable, Equatable, Sendable {
    /// One line of the table.
    public struct Row: Codable, Equatable, Sendable {
        /// The generator (a fake folder's name), or ``GeneratorTable/pooledName`` for all pooled.
        public let generator: String
        /// The metrics of this generator's images against the real photos.
        public let metrics: DetectionMetrics
    }

    /// The name of the pooled row.
    public static let pooledName = "all"
    /// One row per generator in the given order, then the pooled row.
    public let rows: [Row]

    /// Builds the table.
    ///
    /// - Parameters:
    ///   - real: Log-likelihoods of the real photos (shared by every row).
    ///   - generated: Each generator's name and log-likelihoods.
    ///   - threshold: The decision threshold.
    /// - Precondition: `real` and every generator's list non-empty; no NaN; distinct names, none
    ///   equal to ``pooledName``.
    public init(real: [Double], generated: [(name: String, logLikelihoods: [Double])], threshold: Double) {
        precondition(!real.isEmpty, "GeneratorTable: no real log-likelihoods")
        precondition(!generated.isEmpty, "GeneratorTable: no generators")
        precondition(Set(generated.map(\.name)).count == generated.count && !generated.contains { $0.name == Self.pooledName },
                     "GeneratorTable: generator names must be distinct and not \"\(Self.pooledName)\": \(generated.map(\.name))")
        func row(_ name: String, _ fake: [Double]) -> Row {
            precondition(!fake.isEmpty, "GeneratorTable: generator \(name) has no log-likelihoods")
            return Row(generator: name, metrics: DetectionMetrics(
                logLikelihoods: real + fake,
                labels: Array(repeating: .real, count: real.count) + Array(repeating: .generated, count: fake.count),
                threshold: threshold))
        }
        rows = generated.map { row($0.name, $0.logLikelihoods) } + [row(Self.pooledName, generated.flatMap(\.logLikelihoods))]
    }

    /// The CSV header of ``csvRows(setting:)``.
    public static let csvHeader = "setting,generator,real,generated,threshold,accuracy,balanced_accuracy,tpr,fpr,"
        + "auc,ap,tpr_at_1pct_fpr,tpr_at_5pct_fpr,tp,fp,tn,fn,median_real_loglik,median_generated_loglik"

    /// One CSV line per row (without the header), prefixed by `setting` (e.g. `original`,
    /// `jpeg-q90`); numbers with full precision.
    public func csvRows(setting: String) -> [String] {
        rows.map { row in
            let m = row.metrics, c = m.confusion
            let numbers: [Double] = [m.threshold, m.accuracy, m.balancedAccuracy, m.truePositiveRate, m.falsePositiveRate,
                                     m.areaUnderCurve, m.averagePrecision, m.truePositiveRateAtOnePercentFalsePositiveRate,
                                     m.truePositiveRateAtFivePercentFalsePositiveRate]
            let fields = [Self.csvField(setting), Self.csvField(row.generator), "\(m.realCount)", "\(m.generatedCount)"]
                + numbers.map { "\($0)" } + ["\(c.truePositives)", "\(c.falsePositives)", "\(c.trueNegatives)", "\(c.falseNegatives)",
                                             "\(m.medianRealLogLikelihood)", "\(m.medianGeneratedLogLikelihood)"]
            return fields.joined(separator: ",")
        }
    }

    /// Quotes a CSV field when it holds a comma, a quote or a line break (RFC 4180).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
