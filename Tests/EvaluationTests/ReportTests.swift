import Foundation
import Imaging
@testable import Evaluation
import OneClass
import Tensor
import Testing

@Suite("PCA, plots, perturbations and reports")
struct ReportTests {
    @Test("PCA matches scikit-learn up to the sign of each component")
    func principalComponents() throws {
        let f = MetricsFixtures.shared.pca
        let x = Matrix(rows: f.x.count, columns: f.x[0].count, elements: f.x.flatMap { $0 })
        let pca = try PrincipalComponents(fitting: x, componentCount: 3)
        for k in 0..<3 {
            #expect(abs(pca.explainedVariances[k] - f.explainedVariance[k]) < 1e-9 * f.explainedVariance[0])
            #expect(abs(pca.explainedVarianceRatios[k] - f.explainedVarianceRatio[k]) < 1e-12)
            let ours = pca.components.row(k), theirs = f.components[k]
            let sign = zip(ours, theirs).map { $0 * $1 }.reduce(0, +) < 0 ? -1.0 : 1.0
            #expect(zip(ours, theirs).map { abs($0 - sign * $1) }.max()! < 1e-9, "component \(k)")
        }
        // Projections are uncorrelated with the component variances.
        let projected = pca.transform(x)
        let column0 = (0..<projected.rows).map { projected[$0, 0] }
        let mean0 = column0.reduce(0, +) / Double(column0.count)
        #expect(abs(mean0) < 1e-9)
        let variance0 = column0.map { ($0 - mean0) * ($0 - mean0) }.reduce(0, +) / Double(column0.count - 1)
        #expect(abs(variance0 - pca.explainedVariances[0]) < 1e-9 * variance0)
    }

    static func samplePlot() -> Plot {
        var plot = Plot(title: "Test plot", xLabel: "x value", yLabel: "y value", xRange: 0...10, yRange: 0...1)
        plot.layers = [
            .init(name: "bars", color: PlotColor.palette[0], mark: .bars(edges: [0, 5, 10], heights: [0.5, 1], opacity: 0.5)),
            .init(name: "line", color: PlotColor.palette[1], mark: .line(points: [PlotPoint(x: 0, y: 0), PlotPoint(x: 10, y: 1)], dashed: false)),
            .init(name: nil, color: .black, mark: .verticalRule(x: 7.5, dashed: true)),
            .init(name: "dots", color: PlotColor.palette[2], mark: .dots(points: [PlotPoint(x: 2, y: 0.9)], radius: 4, opacity: 1)),
        ]
        return plot
    }

    @Test("SVG: one element per mark, clipped data, escaped text")
    func svg() {
        var plot = Self.samplePlot()
        plot.title = "A <b> & \"c\""
        let svg = plot.svg()
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"480\""))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("A &lt;b&gt; &amp; &quot;c&quot;"))
        #expect(svg.components(separatedBy: "fill-opacity=\"0.5\"").count - 1 == 2)   // two bars
        #expect(svg.contains("<g clip-path=\"url(#clip1)\">") && svg.contains("</g>"))
        #expect(svg.contains("stroke-dasharray"))
        #expect(svg.contains(">bars</text>") && !svg.contains(">nil</text>"))
    }

    @Test("raster: same layout as the SVG, blended bars, opaque marks, text pixels")
    func raster() {
        let image = Self.samplePlot().rasterized()
        #expect(image.width == 720 && image.height == 480 && image.channels == 3)
        // Plot area 76…700 × 36…424 (left margin: 40 + 3 characters of "0.0"); bar 1 covers x 0…5
        // (pixels 76…388), height 0.5 (y 230…424).
        let blue = PlotColor.palette[0]
        let blended = { (c: UInt8) in UInt8((Double(255) * 0.5 + Double(c) * 0.5).rounded()) }
        #expect(image[x: 150, y: 400, channel: 0] == blended(blue.red))
        #expect(image[x: 150, y: 400, channel: 2] == blended(blue.blue))
        #expect(image[x: 150, y: 100, channel: 0] == 255)                     // above the bar: white
        // The dot at (2, 0.9) → pixel (200.8, 74.8), opaque green.
        #expect(image[x: 200, y: 74, channel: 1] == PlotColor.palette[2].green)
        // The frame is black; the title row has dark pixels.
        #expect(image[x: 76, y: 200, channel: 0] == 0)
        let titleRow = (300..<420).map { image[x: $0, y: 18, channel: 0] }
        #expect(titleRow.contains(0))
        // Outside the clip (left margin) no data is drawn: the line starts at the plot corner.
        #expect(image[x: 75, y: 423, channel: 1] == 255)
    }

    @Test("ticks are 1, 2 or 5 × 10ᵏ inside the range")
    func ticks() {
        let plot = Plot(title: "t", xLabel: "x", yLabel: "y", xRange: -4321...5678, yRange: 0.001...0.0042)
        let svg = plot.svg()
        for label in [">-4000<", ">-2000<", ">0<", ">2000<", ">4000<", ">0.001<", ">0.002<", ">0.004<"] { #expect(svg.contains(label), "\(label)") }
    }

    @Test("perturbations: JPEG round trip, bicubic downscale, names")
    func perturbations() throws {
        var pixels = [UInt8](repeating: 0, count: 40 * 30 * 3)
        for i in pixels.indices { pixels[i] = UInt8((i * 37) % 251) }
        let image = Image(width: 40, height: 30, channels: 3, pixels: pixels)
        #expect(try ImagePerturbation.original.applied(to: image) == image)
        let jpeg = try ImagePerturbation.jpeg(quality: 70).applied(to: image)
        #expect(jpeg.width == 40 && jpeg.height == 30 && jpeg != image)
        let reference = try Image(data: image.encoded(as: .jpeg(quality: 70)))
        #expect(jpeg == reference)
        let small = try ImagePerturbation.downscale(factor: 0.5).applied(to: image)
        #expect(small == image.resized(width: 20, height: 15, filter: .bicubic))
        #expect(try ImagePerturbation.downscale(factor: 0.9).applied(to: image).width == 36)
        #expect(throws: ImageError.self) { try ImagePerturbation.downscale(factor: 1.5).applied(to: image) }
        #expect(throws: ImageError.self) { try ImagePerturbation.jpeg(quality: 0).applied(to: image) }
        #expect(ImagePerturbation.paperSweep.map(\.description) == [
            "jpeg-q100", "jpeg-q90", "jpeg-q80", "jpeg-q70",
            "downscale-0.9", "downscale-0.8", "downscale-0.7", "downscale-0.6", "downscale-0.5"])
    }

    @Test("report: metrics.json, CSVs and figures in SVG and PNG")
    func report() throws {
        var generator = RandomGenerator(seed: 3)
        func source(_ name: String, _ shift: Double, _ count: Int) -> ScoredSource {
            let scores = (0..<count).map { _ in Double.random(in: 0...10, using: &generator) - shift }
            let features = Matrix(rows: count, columns: 6, elements: (0..<(count * 6)).map { i in
                Double.random(in: -1...1, using: &generator) + (i % 6 == 0 ? shift : 0) })
            return ScoredSource(name: name, sampleNames: (0..<count).map { "\(name)/\($0).png" }, logLikelihoods: scores, features: features)
        }
        let settings = [ImagePerturbation.original, .jpeg(quality: 90), .jpeg(quality: 70), .downscale(factor: 0.5)].map {
            SettingScores(perturbation: $0, real: source("real", 0, 30), generated: [source("gan", 4, 20), source("diffusion", 1, 25)])
        }
        let report = EvaluationReport(threshold: 2, settings: settings, provenance: ["weights": "test"])
        #expect(report.settings.map(\.name) == ["original", "jpeg-q90", "jpeg-q70", "downscale-0.5"])
        #expect(report.perGeneratorCSV().split(separator: "\n").count == 1 + 4 * 3)
        let directory = ProcessInfo.processInfo.environment["GRAIN_REPORT_PREVIEW"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("grain-report-\(UUID().uuidString)")
        defer { if ProcessInfo.processInfo.environment["GRAIN_REPORT_PREVIEW"] == nil { try? FileManager.default.removeItem(at: directory) } }
        let files = try report.write(to: directory, scores: settings).map(\.lastPathComponent)
        for name in ["metrics.json", "per_generator.csv", "scores.csv", "histogram.svg", "histogram.png", "roc.svg", "roc.png",
                     "projection.svg", "projection.png", "robustness_jpeg.png", "robustness_downscale.svg"] {
            #expect(files.contains(name), "\(name)")
        }
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(contentsOf: directory.appendingPathComponent("metrics.json")))
        #expect(decoded.settings.count == 4 && decoded.settings[1].table == report.settings[1].table)
        let png = try Image(contentsOf: directory.appendingPathComponent("roc.png"))
        #expect(png.width == 960 && png.height > 640)
        let histogramTable = try String(contentsOf: directory.appendingPathComponent("histogram.csv"), encoding: .utf8)
        #expect(histogramTable.split(separator: "\n").count == 1 + 3 && histogramTable.hasPrefix("source,samples,p01"))
        let rocTable = try String(contentsOf: directory.appendingPathComponent("roc.csv"), encoding: .utf8)
        #expect(rocTable.split(separator: "\n").map { String($0.split(separator: ",")[0]) } == ["source", "gan", "diffusion", "all"])
    }

    /// An evaluation at real scale: 50 generators, a few scores of −1.5·10⁶ among typical ones of
    /// −10³. The histogram's axis stays at the 1st–99th percentile and says how many samples it
    /// leaves out; the ROC legend sits under the plot, clear of the curves and the title. Set
    /// GRAIN_REPORT_PREVIEW to a folder to keep the figures (Documentation/Results/evaluation-50-generators-*.png).
    @Test("figures stay readable with 50 generators and extreme outliers")
    func fiftyGenerators() throws {
        var generator = RandomGenerator(seed: 50)
        func normal(_ mean: Double, _ deviation: Double, _ count: Int) -> [Double] {
            (0..<count).map { _ in mean + deviation * generator.nextStandardNormal() }
        }
        let outliers = [-1.5e6, -1.2e6, -9e5, -4e5, -2e5]
        let real = normal(-1000, 30, 400)
        let generated = (0..<50).map { g in
            (name: String(format: "generator_%02d", g), logLikelihoods: normal(-1000 - Double(g) * 4, 40, 60) + (g < outliers.count ? [outliers[g]] : []))
        }
        let sources = [(name: "real", logLikelihoods: real)] + generated
        let threshold = real.sorted()[8]
        let histogram = Figures.likelihoodHistogram(sources: sources, threshold: threshold, title: "Scores by source (synthetic, 50 generators)")
        #expect(histogram.xRange.lowerBound > -2000, "the axis runs to \(histogram.xRange.lowerBound)")
        let range = Figures.histogramRange(sources: sources, threshold: threshold)
        let below = sources.flatMap(\.logLikelihoods).filter { $0 < range.lowerBound }.count
        let above = sources.flatMap(\.logLikelihoods).filter { $0 > range.upperBound }.count
        #expect(below >= outliers.count)
        #expect(histogram.notes.first == "axis: 1st-99th percentile of all scores; not shown: \(below) below, \(above) above")
        #expect(histogram.notes.contains("50 generators pooled; per source: the CSV beside this figure"))
        let table = Figures.sourceSummaryCSV(sources: sources, range: range, threshold: threshold)
        #expect(table.split(separator: "\n").count == 1 + 51)
        #expect(table.split(separator: "\n")[2].hasPrefix("generator_00,61,"))

        let labels = { (fake: [Double]) in [SampleClass](repeating: .real, count: real.count) + [SampleClass](repeating: .generated, count: fake.count) }
        let curves = generated.map { (name: $0.name, curve: ROCCurve(logLikelihoods: real + $0.logLikelihoods, labels: labels($0.logLikelihoods))) }
        let roc = Figures.rocCurves(curves, title: "ROC, generated = positive (synthetic, 50 generators)")
        // Every legend entry lies under the plot area and inside the image.
        let (columns, legendHeight) = roc.legendBelowLayout
        #expect(columns * Int((legendHeight - 8) / 20) >= 50)
        #expect(roc.area.bottom + 54 <= Double(roc.height) - legendHeight + 1e-9)
        let legendTexts = roc.legendCommands().compactMap { command -> Double? in
            if case .text(_, _, let y, _, _, _, _) = command { return y } else { return nil }
        }
        #expect(legendTexts.count == 50 && legendTexts.allSatisfy { $0 > roc.area.bottom + 40 && $0 <= Double(roc.height) })

        if let preview = ProcessInfo.processInfo.environment["GRAIN_REPORT_PREVIEW"] {
            let folder = URL(fileURLWithPath: preview)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try histogram.rasterized().write(to: folder.appendingPathComponent("evaluation-50-generators-histogram.png"), as: .png)
            try roc.rasterized().write(to: folder.appendingPathComponent("evaluation-50-generators-roc.png"), as: .png)
            try Data(table.utf8).write(to: folder.appendingPathComponent("evaluation-50-generators-histogram.csv"))
        }
    }
}
