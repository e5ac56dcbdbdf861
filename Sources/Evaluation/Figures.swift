import Foundation
import Tensor

/// The evaluation figures: likelihood histograms per source (the paper's Fig. 3), ROC curves, a
/// 2-D PCA projection of features by source (the paper's Fig. 1 uses t-SNE) and robustness
/// curves (the paper's Fig. 4). Each returns a ``Plot`` to render as SVG or PNG.
public enum Figures {
    /// The most sources drawn as separate histograms; with more, the generators are pooled into
    /// one histogram (the per-source numbers go in ``sourceSummaryCSV(sources:range:threshold:)``).
    public static let maximumOverlaidSources = 6

    /// The horizontal range of ``likelihoodHistogram(sources:threshold:binCount:percentiles:title:scoreLabel:)``:
    /// from the `percentiles.lower` to the `percentiles.upper` quantile of all finite scores
    /// (widened to include the threshold), so a few extreme outliers (scores of −10⁶ beside
    /// typical ones of −10³) do not squeeze everything else into one bar.
    public static func histogramRange(sources: [(name: String, logLikelihoods: [Double])], threshold: Double?,
                                      percentiles: (lower: Double, upper: Double) = (0.01, 0.99)) -> ClosedRange<Double> {
        let all = sources.flatMap(\.logLikelihoods).filter(\.isFinite).sorted()
        guard !all.isEmpty else { return 0...1 }
        func quantile(_ p: Double) -> Double { all[min(all.count - 1, max(0, Int((Double(all.count - 1) * p).rounded())))] }
        var low = quantile(percentiles.lower), high = quantile(percentiles.upper)
        if let threshold, threshold.isFinite { low = min(low, threshold); high = max(high, threshold) }
        if high <= low { low -= 0.5; high += 0.5 }
        return low...high
    }

    /// Histograms of log-likelihood, each normalised to fractions of its own samples (so sources
    /// of different sizes compare), with the threshold as a dashed rule.
    ///
    /// The axis runs between two stated percentiles of all scores (1st–99th by default,
    /// ``histogramRange(sources:threshold:percentiles:)``); samples outside are not drawn, and the
    /// figure says how many fell below and above it. Up to ``maximumOverlaidSources`` sources are
    /// overlaid one per colour; with more, the first source (the real photos) is drawn against all
    /// the others pooled, and the figure says so. The legend sits under the plot.
    ///
    /// - Parameters:
    ///   - sources: Each source's name and log-likelihoods (real photos first, by convention).
    ///   - threshold: The decision threshold to mark, if any.
    ///   - binCount: The number of bins over the range.
    ///   - percentiles: The quantiles of all scores that bound the axis, in [0, 1].
    ///   - scoreLabel: The horizontal axis label.
    ///   - title: The figure's title.
    /// - Precondition: at least one source with a finite score; `binCount ≥ 1`.
    public static func likelihoodHistogram(sources: [(name: String, logLikelihoods: [Double])], threshold: Double?,
                                           binCount: Int = 40, percentiles: (lower: Double, upper: Double) = (0.01, 0.99),
                                           title: String = "Log-likelihood by source",
                                           scoreLabel: String = "log-likelihood") -> Plot {
        precondition(binCount >= 1, "Figures.likelihoodHistogram: binCount \(binCount) < 1")
        precondition(sources.contains { $0.logLikelihoods.contains(where: \.isFinite) }, "Figures.likelihoodHistogram: no finite log-likelihoods")
        let range = histogramRange(sources: sources, threshold: threshold, percentiles: percentiles)
        let (low, high) = (range.lowerBound, range.upperBound)
        let width = (high - low) / Double(binCount)
        let edges = (0...binCount).map { low + Double($0) * width }
        let pooled = sources.count > maximumOverlaidSources
        let drawn: [(name: String, logLikelihoods: [Double])] = pooled
            ? [sources[0], ("\(sources.count - 1) generators pooled", sources.dropFirst().flatMap(\.logLikelihoods))]
            : sources
        var layers: [Plot.Layer] = []
        var tallest = 0.0, below = 0, above = 0
        for (index, source) in drawn.enumerated() {
            var counts = [Double](repeating: 0, count: binCount)
            let finite = source.logLikelihoods.filter(\.isFinite)
            for value in finite {
                if value < low { below += 1; continue }
                if value > high { above += 1; continue }
                counts[min(binCount - 1, Int(((value - low) / width).rounded(.down)))] += 1
            }
            let fractions = counts.map { $0 / Double(max(finite.count, 1)) }
            tallest = max(tallest, fractions.max() ?? 0)
            layers.append(Plot.Layer(name: "\(source.name) (\(source.logLikelihoods.count))",
                                     color: PlotColor.palette[index % PlotColor.palette.count],
                                     mark: .bars(edges: edges, heights: fractions, opacity: 0.45)))
        }
        if let threshold, threshold.isFinite {
            layers.append(Plot.Layer(name: "threshold", color: .black, mark: .verticalRule(x: threshold, dashed: true)))
        }
        let margin = (high - low) * 0.02
        var plot = Plot(title: title, xLabel: scoreLabel, yLabel: "fraction of images",
                        xRange: (low - margin)...(high + margin), yRange: 0...max(tallest * 1.1, 1e-9), layers: layers,
                        width: 960, height: 540)
        plot.notes = [String(format: "axis: %@-%@ percentile of all scores; not shown: %d below, %d above",
                             ordinal(percentiles.lower), ordinal(percentiles.upper), below, above)]
        if pooled { plot.notes.append("\(sources.count - 1) generators pooled; per source: the CSV beside this figure") }
        plot.legendPosition = .below
        plot.height += Int(plot.legendBelowLayout.height)
        return plot
    }

    /// `0.01` as `1st`, `0.99` as `99th`, `0.5` as `50th`, `0` as `0th` (percent, ordinal).
    static func ordinal(_ fraction: Double) -> String {
        let percent = (fraction * 1000).rounded() / 10
        let text = percent == percent.rounded() ? String(Int(percent)) : String(format: "%.1f", percent)
        let suffix: String
        switch Int(percent) % 100 {
        case 11, 12, 13: suffix = "th"
        default: suffix = [1: "st", 2: "nd", 3: "rd"][Int(percent) % 10] ?? "th"
        }
        return text + suffix
    }

    /// The table beside a histogram: per source, the sample count, its 1st percentile, median
    /// and 99th percentile, how many samples fall below and above the figure's `range`, and how
    /// many fall below the threshold (judged generated). CSV with a header.
    public static func sourceSummaryCSV(sources: [(name: String, logLikelihoods: [Double])], range: ClosedRange<Double>,
                                        threshold: Double?) -> String {
        var lines = ["source,samples,p01,median,p99,below_axis,above_axis,below_threshold"]
        for source in sources {
            let sorted = source.logLikelihoods.filter(\.isFinite).sorted()
            func quantile(_ p: Double) -> String {
                sorted.isEmpty ? "" : "\(sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))])"
            }
            let below = sorted.filter { $0 < range.lowerBound }.count, above = sorted.filter { $0 > range.upperBound }.count
            let flagged = threshold.map { t in String(sorted.filter { $0 < t }.count) } ?? ""
            lines.append([GeneratorTable.csvField(source.name), String(source.logLikelihoods.count), quantile(0.01), quantile(0.5),
                          quantile(0.99), String(below), String(above), flagged].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// ROC curves, one per named scoring (the AUC in the legend), with the chance diagonal. The
    /// legend sits under the plot in as many columns as fit, so 50 generators never cover the
    /// curves or the title; a curve named ``GeneratorTable/pooledName`` is drawn in black.
    public static func rocCurves(_ curves: [(name: String, curve: ROCCurve)], title: String = "ROC (generated = positive)") -> Plot {
        var layers = [Plot.Layer(name: nil, color: .grey,
                                 mark: .line(points: [PlotPoint(x: 0, y: 0), PlotPoint(x: 1, y: 1)], dashed: true))]
        for (index, entry) in curves.enumerated() {
            let points = zip(entry.curve.falsePositiveRates, entry.curve.truePositiveRates).map { PlotPoint(x: $0, y: $1) }
            layers.append(Plot.Layer(name: String(format: "%@ (AUC %.3f)", entry.name, entry.curve.area),
                                     color: entry.name == GeneratorTable.pooledName ? .black : PlotColor.palette[(index + 1) % PlotColor.palette.count],
                                     mark: .line(points: points, dashed: false)))
        }
        var plot = Plot(title: title, xLabel: "false-positive rate (real flagged)", yLabel: "true-positive rate (generated flagged)",
                        xRange: -0.01...1.01, yRange: -0.01...1.01, layers: layers, width: 960, height: 640)
        if curves.count > PlotColor.palette.count {
            plot.notes = ["\(curves.count) curves; colours repeat every \(PlotColor.palette.count): AUCs in the CSV beside this figure"]
        }
        plot.legendPosition = .below
        plot.height += Int(plot.legendBelowLayout.height)
        return plot
    }

    /// The features of every source projected on the first two principal components of all of
    /// them together (``PrincipalComponents``), one colour per source.
    ///
    /// - Parameters:
    ///   - sources: Each source's name and features `[nᵢ, d]`.
    ///   - title: The figure's title.
    /// - Throws: `LinearAlgebraError` if the eigendecomposition fails.
    /// - Precondition: at least two samples in total, all with the same `d ≥ 2`.
    public static func featureProjection(sources: [(name: String, features: Matrix)],
                                         title: String = "Features, first two principal components") throws -> Plot {
        precondition(!sources.isEmpty, "Figures.featureProjection: no sources")
        let d = sources[0].features.columns
        precondition(sources.allSatisfy { $0.features.columns == d } && d >= 2,
                     "Figures.featureProjection: features of different or too few columns \(sources.map(\.features.columns))")
        let all = Matrix(rows: sources.map(\.features.rows).reduce(0, +), columns: d,
                         elements: sources.flatMap(\.features.elements))
        let pca = try PrincipalComponents(fitting: all, componentCount: 2)
        var layers: [Plot.Layer] = []
        var xs: [Double] = [], ys: [Double] = []
        for (index, source) in sources.enumerated() {
            let projected = pca.transform(source.features)
            let points = (0..<projected.rows).map { PlotPoint(x: projected[$0, 0], y: projected[$0, 1]) }
            xs += points.map(\.x)
            ys += points.map(\.y)
            layers.append(Plot.Layer(name: "\(source.name) (\(source.features.rows))",
                                     color: PlotColor.palette[index % PlotColor.palette.count],
                                     mark: .dots(points: points, radius: 3, opacity: 0.7)))
        }
        let ratios = pca.explainedVarianceRatios.map { $0 * 100 }
        var plot = Plot(title: title, xLabel: String(format: "PC1 (%.1f%% of variance)", ratios[0]),
                        yLabel: String(format: "PC2 (%.1f%% of variance)", ratios[1]),
                        xRange: Plot.range(covering: xs), yRange: Plot.range(covering: ys), layers: layers
        )
        plot.legendPosition = .below
        plot.height += Int(plot.legendBelowLayout.height)
        return plot
    }

    /// Metrics against a degradation parameter (JPEG quality, downscaling factor), one line per
    /// metric — the paper's Fig. 4.
    ///
    /// - Parameters:
    ///   - parameterName: The horizontal axis, e.g. "JPEG quality".
    ///   - points: The parameter value and the metrics at it, in drawing order.
    ///   - title: The figure's title.
    public static func robustness(parameterName: String, points: [(parameter: Double, metrics: DetectionMetrics)],
                                  title: String) -> Plot {
        let series: [(String, KeyPath<DetectionMetrics, Double>)] = [
            ("AUC", \.areaUnderCurve), ("AP", \.averagePrecision), ("accuracy", \.accuracy),
            ("TPR at 5% FPR", \.truePositiveRateAtFivePercentFalsePositiveRate),
        ]
        let layers = series.enumerated().flatMap { index, entry in
            let color = PlotColor.palette[index % PlotColor.palette.count]
            let values = points.map { PlotPoint(x: $0.parameter, y: $0.metrics[keyPath: entry.1]) }
            return [Plot.Layer(name: entry.0, color: color, mark: .line(points: values, dashed: false)),
                    Plot.Layer(name: nil, color: color, mark: .dots(points: values, radius: 4, opacity: 1))]
        }
        var plot = Plot(title: title, xLabel: parameterName, yLabel: "metric", xRange: Plot.range(covering: points.map(\.parameter)),
                        yRange: -0.02...1.02, layers: layers)
        plot.legendPosition = .below
        plot.height += Int(plot.legendBelowLayout.height)
        return plot
    }
}
