import ArgumentParser
import Evaluation
import Foundation
import Imaging
import OneClass

/// `grain plot-metrics`: the per-epoch curves of a `grain train` / `grain finetune` run.
struct PlotMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-metrics",
        abstract: "Plot a training run's metrics.csv as one SVG: losses, validation accuracy (with chance) and validation regression error per epoch.")

    @Option(help: "The run's metrics.csv.") var csv: String
    @Option(help: "The SVG to write.") var out: String
    @Option(help: "Also write the plots as one PNG here.") var png: String?
    @Option(help: "Number of classes, for the chance line (11 for the pretext task, 2 for fine-tuning).") var classes = 11

    func run() throws {
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        guard let header = lines.first, lines.count > 1 else { throw ValidationError("\(csv): no rows") }
        let rows = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0.map { Double($0) ?? .nan })) }
        let epochs = rows.map { $0["epoch"] ?? .nan }
        func series(_ column: String) -> [PlotPoint] {
            zip(epochs, rows.map { $0[column] ?? .nan }).filter { $0.1.isFinite }.map { PlotPoint(x: $0.0, y: $0.1) }
        }
        let xRange = epochs.count > 1 ? Plot.range(covering: epochs, padding: 0.02) : (epochs[0] - 1)...(epochs[0] + 1)
        func plot(_ title: String, _ yLabel: String, _ columns: [(name: String, column: String)], yRange: ClosedRange<Double>? = nil,
                  extra: [Plot.Layer] = [], legend: Plot.LegendPosition = .bottomLeft) -> Plot {
            let layers = columns.enumerated().flatMap { index, entry -> [Plot.Layer] in
                let points = series(entry.column), color = PlotColor.palette[index % PlotColor.palette.count]
                return [Plot.Layer(name: entry.name, color: color, mark: .line(points: points, dashed: false)),
                        Plot.Layer(name: nil, color: color, mark: .dots(points: points, radius: 3, opacity: 1))]
            }
            let values = columns.flatMap { series($0.column).map(\.y) }
            var plot = Plot(title: title, xLabel: "epoch", yLabel: yLabel, xRange: xRange,
                            yRange: yRange ?? (values.isEmpty ? 0...1 : Plot.range(covering: values + [0])), layers: layers + extra,
                            width: 480, height: 360)
            plot.legendPosition = legend
            return plot
        }
        let chance = 1 / Double(classes)
        let plots = [
            plot("Loss: CE + L1", "loss", [("training", "train_loss"), ("validation", "val_loss")]),
            plot("Validation accuracy", "accuracy", [("all classes", "val_accuracy")], yRange: 0...1,
                 extra: [Plot.Layer(name: "chance (1/\(classes))", color: PlotColor.palette[7],
                                    mark: .line(points: [PlotPoint(x: xRange.lowerBound, y: chance), PlotPoint(x: xRange.upperBound, y: chance)],
                                                dashed: true))], legend: .topRight),
            plot("Validation regression error", "mean abs error", [("validation", "val_regression_error")]),
        ]
        // Side by side: each plot's own SVG nested at its offset.
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(plots.map(\.width).reduce(0, +))\" height=\"\(plots[0].height)\">\n"
        var offset = 0
        for plot in plots {
            svg += plot.svg().replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", with: "<svg x=\"\(offset)\" ") + "\n"
            offset += plot.width
        }
        try Data((svg + "</svg>\n").utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        guard let png else { return }
        let rasters = plots.map { $0.rasterized() }
        var image = Image(width: rasters.map(\.width).reduce(0, +), height: rasters.map(\.height).max()!, channels: 3, repeating: 255)
        var left = 0
        for raster in rasters {
            for y in 0..<raster.height { for x in 0..<raster.width { for c in 0..<3 {
                image[x: left + x, y: y, channel: c] = raster[x: x, y: y, channel: min(c, raster.channels - 1)]
            } } }
            left += raster.width
        }
        try image.write(to: URL(fileURLWithPath: png), as: .png)
    }
}
