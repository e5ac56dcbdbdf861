import Foundation
import Imaging
import Evaluation
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
        #expect(png.width == 720 && png.height == 480)
    }
}
