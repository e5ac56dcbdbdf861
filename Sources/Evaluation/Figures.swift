import Foundation
import Tensor

/// The evaluation figures: likelihood histograms per source (the paper's Fig. 3), ROC curves, a
/// 2-D PCA projection of features by source (the paper's Fig. 1 uses t-SNE) and robustness
/// curves (the paper's Fig. 4). Each returns a ``Plot`` to render as SVG or PNG.
public enum Figures {
    /// Overlaid histograms of log-likelihood, one per source, each normalised to fractions of its
    /// own samples (so sources of different sizes compare), with the threshold as a dashed rule.
    ///
    /// The range runs from the 1st percentile of all scores to the maximum; lower scores (often a
    /// few extreme outliers) are counted in the first bin, so no sample is dropped.
    ///
    /// - Parameters:
    ///   - sources: Each source's name and log-likelihoods (real photos first, by convention).
    ///   - threshold: The decision threshold to mark, if any.
    ///   - binCount: The number of bins over the range.
    ///   - scoreLabel: The horizontal axis label.
    ///   - title: The figure's title.
    /// - Precondition: at least one source with a finite score; `binCount ≥ 1`.
    public static func likelihoodHistogram(sources: [(name: String, logLikelihoods: [Double])], threshold: Double?,
                                           binCount: Int = 40, title: String = "Log-likelihood by source",
                                           scoreLabel: String = "log-likelihood") -> Plot {
        precondition(binCount >= 1, "Figures.likelihoodHistogram: binCount \(binCount) < 1")
        let all = sources.flatMap(\.logLikelihoods).filter(\.isFinite).sorted()
        precondition(!all.isEmpty, "Figures.likelihoodHistogram: no finite log-likelihoods")
        var low = all[Int(Double(all.count - 1) * 0.01)], high = all.last!
        if let threshold, threshold.isFinite { low = min(low, threshold); high = max(high, threshold) }
        if high <= low { low -= 0.5; high += 0.5 }
        let width = (high - low) / Double(binCount)
        let edges = (0...binCount).map { low + Double($0) * width }
        var layers: [Plot.Layer] = []
        var tallest = 0.0
        for (index, source) in sources.enumerated() {
            var counts = [Double](repeating: 0, count: binCount)
            let finite = source.logLikelihoods.filter(\.isFinite)
            for value in finite {
                counts[min(binCount - 1, max(0, Int(((value - low) / width).rounded(.down))))] += 1
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
                        xRange: (low - margin)...(high + margin), yRange: 0...max(tallest * 1.1, 1e-9), layers: layers
        )
        plot.legendPosition = .below
        plot.height += Int(plot.legendBelowLayout.height)
        return plot
    }

    /// ROC curves, one per named scoring (the AUC in the legend), with the chance diagonal.
    public static func rocCurves(_ curves: [(name: String, curve: ROCCurve)], title: String = "ROC (generated = positive)") -> Plot {
        var layers = [Plot.Layer(name: nil, color: .grey,
                                 mark: .line(points: [PlotPoint(x: 0, y: 0), PlotPoint(x: 1, y: 1)], dashed: true))]
        for (index, entry) in curves.enumerated() {
            let points = zip(entry.curve.falsePositiveRates, entry.curve.truePositiveRates).map { PlotPoint(x: $0, y: $1) }
            layers.append(Plot.Layer(name: String(format: "%@ (AUC %.3f)", entry.name, entry.curve.area),
                                     color: PlotColor.palette[(index + 1) % PlotColor.palette.count],
                                     mark: .line(points: points, dashed: false)))
        }
        var plot = Plot(title: title, xLabel: "false-positive rate (real flagged)", yLabel: "true-positive rate (generated flagged)",
                        xRange: -0.01...1.01, yRange: -0.01...1.01, layers: layers)
        plot.legendPosition = .bottomRight
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
