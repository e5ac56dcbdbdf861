import Foundation
import Imaging
import Tensor

/// The scored samples of one source (the real photos or one generator's folder) under one setting.
public struct ScoredSource: Sendable {
    /// The source's name: `real`, or the generator (fake folder) name.
    public var name: String
    /// One name per sample (a file path, with the crop when a file gave several samples).
    public var sampleNames: [String]
    /// One log-likelihood per sample.
    public var logLikelihoods: [Double]
    /// The features behind the scores, `[n, d]`, for the projection figure (optional).
    public var features: Matrix?

    /// Creates a source.
    ///
    /// - Precondition: one name per score; features, when given, have one row per score.
    public init(name: String, sampleNames: [String], logLikelihoods: [Double], features: Matrix? = nil) {
        precondition(sampleNames.count == logLikelihoods.count,
                     "ScoredSource \(name): \(sampleNames.count) names for \(logLikelihoods.count) scores")
        precondition(features == nil || features!.rows == logLikelihoods.count,
                     "ScoredSource \(name): \(features!.rows) feature rows for \(logLikelihoods.count) scores")
        self.name = name
        self.sampleNames = sampleNames
        self.logLikelihoods = logLikelihoods
        self.features = features
    }
}

/// Every source scored under one perturbation of the test images.
public struct SettingScores: Sendable {
    /// What was done to every test image.
    public var perturbation: ImagePerturbation
    /// The real photos.
    public var real: ScoredSource
    /// Each generator's images.
    public var generated: [ScoredSource]
    /// Files that could not be read or scored, with the reason.
    public var failures: [String: String]

    /// Creates the scores of one setting.
    public init(perturbation: ImagePerturbation, real: ScoredSource, generated: [ScoredSource], failures: [String: String] = [:]) {
        self.perturbation = perturbation
        self.real = real
        self.generated = generated
        self.failures = failures
    }
}

/// The result of `grain evaluate`: per setting (original, then each robustness perturbation), the
/// per-generator table at the detector's threshold; written as `metrics.json`, a CSV, and figures.
public struct EvaluationReport: Codable, Sendable {
    /// The metrics of one setting.
    public struct Setting: Codable, Sendable {
        /// The setting's name (``ImagePerturbation/description``).
        public let name: String
        /// What was done to every test image.
        public let perturbation: ImagePerturbation
        /// Each generator against the real photos, then pooled.
        public let table: GeneratorTable
        /// Files that could not be scored under this setting, with the reason.
        public let failures: [String: String]
    }

    /// The layout version of `metrics.json`.
    public var formatVersion = 1
    /// The decision threshold on the log-likelihood (real when ≥ it).
    public let threshold: Double
    /// How the detector and the samples were made (weights, mixture, crops, seed, …).
    public let provenance: [String: String]
    /// What the scores are, for axis labels: `log-likelihood`, or e.g. the joint margin.
    public var scoreLabel: String
    /// One entry per setting, in the order given.
    public let settings: [Setting]

    /// Builds the tables.
    ///
    /// - Precondition: every setting has real photos and at least one non-empty generator.
    public init(threshold: Double, settings: [SettingScores], provenance: [String: String] = [:],
                scoreLabel: String = "log-likelihood") {
        self.threshold = threshold
        self.provenance = provenance
        self.scoreLabel = scoreLabel
        self.settings = settings.map { scores in
            Setting(name: scores.perturbation.description, perturbation: scores.perturbation,
                    table: GeneratorTable(real: scores.real.logLikelihoods,
                                          generated: scores.generated.map { ($0.name, $0.logLikelihoods) }, threshold: threshold),
                    failures: scores.failures)
        }
    }

    /// The per-generator CSV: a header, then every setting's rows.
    public func perGeneratorCSV() -> String {
        ([GeneratorTable.csvHeader] + settings.flatMap { $0.table.csvRows(setting: $0.name) }).joined(separator: "\n") + "\n"
    }

    /// `metrics.json`: the report as pretty-printed JSON with sorted keys.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Writes the report into `directory` (created if needed):
    ///
    /// - `metrics.json` — this report;
    /// - `per_generator.csv` — ``perGeneratorCSV()``;
    /// - `scores.csv` — every sample's log-likelihood per setting;
    /// - `histogram.svg/.png` with `histogram.csv` (per source: count, percentiles, samples
    ///   outside the axis, below the threshold), `roc.svg/.png` with `roc.csv` (per curve: AUC),
    ///   and `projection.svg/.png` when features were given — for the first setting (normally
    ///   `original`);
    /// - `robustness_jpeg.svg/.png`, `robustness_downscale.svg/.png` — pooled metrics against the
    ///   JPEG quality and the downscaling factor, when the sweep has such settings.
    ///
    /// - Parameters:
    ///   - directory: The folder to write into (created if missing).
    ///   - scores: The scores the report was built from, in the same order.
    /// - Returns: The files written.
    @discardableResult
    public func write(to directory: URL, scores: [SettingScores]) throws -> [URL] {
        precondition(scores.count == settings.count, "EvaluationReport.write: \(scores.count) scores for \(settings.count) settings")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [URL] = []
        func save(_ data: Data, _ name: String) throws {
            let url = directory.appendingPathComponent(name)
            try AtomicFile.write(data, to: url)
            written.append(url)
        }
        func save(_ plot: Plot, _ name: String) throws {
            try save(Data(plot.svg().utf8), name + ".svg")
            let url = directory.appendingPathComponent(name + ".png")
            try plot.rasterized().write(to: url, as: .png)
            written.append(url)
        }
        try save(json(), "metrics.json")
        try save(Data(perGeneratorCSV().utf8), "per_generator.csv")
        var lines = ["setting,source,sample,log_likelihood"]
        for setting in scores {
            for source in [setting.real] + setting.generated {
                for (name, score) in zip(source.sampleNames, source.logLikelihoods) {
                    lines.append([setting.perturbation.description, source.name, name, "\(score)"].map(GeneratorTable.csvField).joined(separator: ","))
                }
            }
        }
        try save(Data((lines.joined(separator: "\n") + "\n").utf8), "scores.csv")

        if let first = scores.first {
            let sources = [first.real] + first.generated
            let suffix = first.perturbation == .original ? "" : " (\(first.perturbation))"
            let scored = sources.map { (name: $0.name, logLikelihoods: $0.logLikelihoods) }
            try save(Figures.likelihoodHistogram(sources: scored, threshold: threshold,
                                                 title: "Scores by source" + suffix, scoreLabel: scoreLabel), "histogram")
            try save(Data(Figures.sourceSummaryCSV(sources: scored, range: Figures.histogramRange(sources: scored, threshold: threshold),
                                                   threshold: threshold).utf8), "histogram.csv")
            let labels = { (source: ScoredSource) in
                Array(repeating: SampleClass.real, count: first.real.logLikelihoods.count)
                    + Array(repeating: SampleClass.generated, count: source.logLikelihoods.count)
            }
            var curves = first.generated.map { ($0.name, ROCCurve(logLikelihoods: first.real.logLikelihoods + $0.logLikelihoods, labels: labels($0))) }
            if first.generated.count > 1 {
                let pooled = first.generated.flatMap(\.logLikelihoods)
                curves.append((GeneratorTable.pooledName, ROCCurve(
                    logLikelihoods: first.real.logLikelihoods + pooled,
                    labels: Array(repeating: .real, count: first.real.logLikelihoods.count) + Array(repeating: .generated, count: pooled.count))))
            }
            try save(Figures.rocCurves(curves, title: "ROC, generated = positive" + suffix), "roc")
            let rocRows = curves.map { curve in
                "\(GeneratorTable.csvField(curve.0)),\(curve.1.area)"
            }
            try save(Data((["source,auc"] + rocRows).joined(separator: "\n").appending("\n").utf8), "roc.csv")
            let withFeatures = sources.compactMap { source in source.features.map { (source.name, $0) } }
            if withFeatures.count == sources.count, withFeatures.map(\.1.rows).reduce(0, +) >= 2 {
                try save(Figures.featureProjection(sources: withFeatures, title: "Features by source, PCA" + suffix), "projection")
            }
        }
        let pooled = settings.map { ($0.perturbation, $0.table.rows.last!.metrics) }
        let jpeg = pooled.compactMap { entry -> (Double, DetectionMetrics)? in
            if case .jpeg(let quality) = entry.0 { return (Double(quality), entry.1) } else { return nil }
        }
        if jpeg.count >= 2 {
            try save(Figures.robustness(parameterName: "JPEG quality", points: jpeg, title: "Robustness to JPEG compression (all generators)"),
                     "robustness_jpeg")
        }
        var downscale = pooled.compactMap { entry -> (Double, DetectionMetrics)? in
            if case .downscale(let factor) = entry.0 { return (factor, entry.1) } else { return nil }
        }
        if let original = pooled.first(where: { $0.0 == .original }), !downscale.isEmpty { downscale.insert((1, original.1), at: 0) }
        if downscale.count >= 2 {
            try save(Figures.robustness(parameterName: "downscaling factor", points: downscale,
                                        title: "Robustness to downscaling (all generators)"), "robustness_downscale")
        }
        return written
    }
}
