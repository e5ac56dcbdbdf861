import Foundation

/// An sRGB colour for plots.
public struct PlotColor: Codable, Equatable, Hashable, Sendable {
    /// Red, 0…255.
    public var red: UInt8
    /// Green, 0…255.
    public var green: UInt8
    /// Blue, 0…255.
    public var blue: UInt8

    /// Creates a colour from 8-bit components.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// The colour as SVG writes it, `#rrggbb`.
    public var hex: String { String(format: "#%02x%02x%02x", red, green, blue) }

    /// Black, for axes and text.
    public static let black = PlotColor(red: 0, green: 0, blue: 0)
    /// White, the background.
    public static let white = PlotColor(red: 255, green: 255, blue: 255)
    /// Mid grey, for reference lines.
    public static let grey = PlotColor(red: 128, green: 128, blue: 128)
    /// Light grey, for grid lines.
    public static let lightGrey = PlotColor(red: 225, green: 225, blue: 225)

    /// Ten distinct colours (Tableau 10, matplotlib's default cycle); series `i` takes `palette[i % 10]`.
    public static let palette: [PlotColor] = [
        (0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e), (0x2c, 0xa0, 0x2c), (0xd6, 0x27, 0x28), (0x94, 0x67, 0xbd),
        (0x8c, 0x56, 0x4b), (0xe3, 0x77, 0xc2), (0x7f, 0x7f, 0x7f), (0xbc, 0xbd, 0x22), (0x17, 0xbe, 0xcf),
    ].map { PlotColor(red: $0.0, green: $0.1, blue: $0.2) }
}

/// A point in data coordinates.
public struct PlotPoint: Codable, Equatable, Sendable {
    /// The horizontal coordinate.
    public var x: Double
    /// The vertical coordinate.
    public var y: Double

    /// Creates a point.
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// A small two-axis chart — lines, histogram bars, dots and vertical rules with a legend — that
/// renders to SVG text (``svg()``) or to pixels (``rasterized()``) from the same layout, with no
/// dependency beyond Foundation and Imaging's PNG encoder.
///
/// ```swift
/// var plot = Plot(title: "ROC", xLabel: "false-positive rate", yLabel: "true-positive rate",
///                 xRange: 0...1, yRange: 0...1)
/// plot.layers.append(.init(name: "dalle_mini", color: PlotColor.palette[1],
///                          mark: .line(points: points, dashed: false)))
/// try plot.svg().write(toFile: "roc.svg", atomically: true, encoding: .utf8)
/// try plot.rasterized().write(toFile: "roc.png", as: .png)
/// ```
public struct Plot: Sendable {
    /// What a layer draws.
    public enum Mark: Sendable {
        /// A polyline through `points` (2 px wide), solid or dashed.
        case line(points: [PlotPoint], dashed: Bool)
        /// Histogram bars: bar `i` spans `edges[i]…edges[i + 1]` horizontally and `0…heights[i]`
        /// vertically, filled with the layer colour at `opacity` (overlapping layers stay visible).
        case bars(edges: [Double], heights: [Double], opacity: Double)
        /// Filled dots of `radius` pixels at `points`, at `opacity`.
        case dots(points: [PlotPoint], radius: Double, opacity: Double)
        /// A vertical line across the plot area at `x`, dashed or solid.
        case verticalRule(x: Double, dashed: Bool)
    }

    /// One series: a mark, its colour, and the legend name (no legend entry when nil).
    public struct Layer: Sendable {
        /// The legend entry, or nil for none.
        public var name: String?
        /// The colour of the mark.
        public var color: PlotColor
        /// What is drawn.
        public var mark: Mark

        /// Creates a layer.
        public init(name: String?, color: PlotColor, mark: Mark) {
            self.name = name
            self.color = color
            self.mark = mark
        }
    }

    /// The heading above the plot.
    public var title: String
    /// The horizontal axis label.
    public var xLabel: String
    /// The vertical axis label.
    public var yLabel: String
    /// The data range shown horizontally.
    public var xRange: ClosedRange<Double>
    /// The data range shown vertically.
    public var yRange: ClosedRange<Double>
    /// The series, drawn in order (later on top).
    public var layers: [Layer]
    /// The image width in pixels (SVG user units).
    public var width: Int
    /// The image height in pixels (SVG user units).
    public var height: Int
    /// The corner of the plot area the legend sits in.
    public var legendPosition: LegendPosition = .topRight
    /// Lines printed under the title, above the plot area (what the axes leave out, e.g. how many
    /// samples fall outside a clipped range); each adds 18 pixels to the top margin.
    public var notes: [String] = []

    /// A corner of the plot area.
    public enum LegendPosition: Sendable {
        /// Top left.
        case topLeft
        /// Top right (the default).
        case topRight
        /// Bottom left.
        case bottomLeft
        /// Bottom right.
        case bottomRight
        /// Under the plot, below the horizontal axis label, in as many columns as fit: never
        /// over the data (the image keeps its size; the plot area shrinks).
        case below
    }

    /// Creates an empty plot; add ``layers`` afterwards.
    ///
    /// - Precondition: both ranges have positive, finite width; the size is at least 200×150.
    public init(title: String, xLabel: String, yLabel: String, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
                layers: [Layer] = [], width: Int = 720, height: Int = 480) {
        precondition(xRange.upperBound > xRange.lowerBound && (xRange.upperBound - xRange.lowerBound).isFinite,
                     "Plot: empty or infinite x range \(xRange)")
        precondition(yRange.upperBound > yRange.lowerBound && (yRange.upperBound - yRange.lowerBound).isFinite,
                     "Plot: empty or infinite y range \(yRange)")
        precondition(width >= 200 && height >= 150, "Plot: size \(width)×\(height) below 200×150")
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xRange = xRange
        self.yRange = yRange
        self.layers = layers
        self.width = width
        self.height = height
    }

    // MARK: - Layout

    /// A drawing primitive in pixel coordinates (origin top-left, y down): what both renderers draw.
    enum Command: Equatable {
        case line(x0: Double, y0: Double, x1: Double, y1: Double, color: PlotColor, width: Double, dashed: Bool)
        case polyline(xs: [Double], ys: [Double], color: PlotColor, width: Double, dashed: Bool)
        case rectangle(x: Double, y: Double, width: Double, height: Double, color: PlotColor, opacity: Double)
        case circle(x: Double, y: Double, radius: Double, color: PlotColor, opacity: Double)
        case text(String, x: Double, y: Double, anchor: TextAnchor, color: PlotColor, vertical: Bool, bold: Bool)
        /// Marks after this are clipped to the rectangle, until ``endClip``.
        case beginClip(x: Double, y: Double, width: Double, height: Double)
        case endClip
    }

    /// Where a text's reference point lies along its baseline.
    enum TextAnchor: String { case start, middle, end }

    /// The plot area in pixels; the left margin fits the longest vertical tick label.
    var area: (left: Double, top: Double, right: Double, bottom: Double) {
        let yTicks = Plot.ticks(yRange)
        let longest = yTicks.values.map { Plot.format($0, step: yTicks.step).count }.max() ?? 1
        return (40 + Double(longest) * Plot.characterAdvance, 36 + 18 * Double(notes.count), Double(width) - 20,
                Double(height) - 56 - legendBelowLayout.height)
    }

    /// The named layers, which get legend entries.
    var legendEntries: [Layer] { layers.filter { $0.name != nil } }

    /// The width of one legend entry: swatch, gap and the longest name.
    var legendEntryWidth: Double {
        34 + Double(legendEntries.map { $0.name!.count }.max() ?? 0) * Plot.characterAdvance
    }

    /// With ``LegendPosition/below``: the legend's columns and the height it takes (0 otherwise).
    var legendBelowLayout: (columns: Int, height: Double) {
        guard legendPosition == .below, !legendEntries.isEmpty else { return (1, 0) }
        let columns = max(1, min(legendEntries.count, Int((Double(width) - 40) / (legendEntryWidth + 12))))
        let rows = (legendEntries.count + columns - 1) / columns
        return (columns, Double(rows) * 20 + 8)
    }

    /// The pixel position of a data point.
    func pixel(_ x: Double, _ y: Double) -> (x: Double, y: Double) {
        let a = area
        let px = a.left + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * (a.right - a.left)
        let py = a.bottom - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * (a.bottom - a.top)
        return (px, py)
    }

    /// The approximate advance of one character of tick and legend text, in pixels (the raster
    /// font's 6-pixel cell drawn at scale 2).
    static let characterAdvance = 12.0

    /// Lays the plot out as drawing commands: grid, marks (clipped), axes, ticks, labels, legend.
    func commands() -> [Command] {
        let a = area
        var out: [Command] = [.rectangle(x: 0, y: 0, width: Double(width), height: Double(height), color: .white, opacity: 1)]
        let xTicks = Plot.ticks(xRange), yTicks = Plot.ticks(yRange)
        for t in xTicks.values {
            let p = pixel(t, yRange.lowerBound)
            out.append(.line(x0: p.x, y0: a.top, x1: p.x, y1: a.bottom, color: .lightGrey, width: 1, dashed: false))
        }
        for t in yTicks.values {
            let p = pixel(xRange.lowerBound, t)
            out.append(.line(x0: a.left, y0: p.y, x1: a.right, y1: p.y, color: .lightGrey, width: 1, dashed: false))
        }
        out.append(.beginClip(x: a.left, y: a.top, width: a.right - a.left, height: a.bottom - a.top))
        for layer in layers { out += commands(for: layer) }
        out.append(.endClip)
        // Frame, ticks and tick labels.
        for (x0, y0, x1, y1) in [(a.left, a.top, a.right, a.top), (a.left, a.bottom, a.right, a.bottom),
                                 (a.left, a.top, a.left, a.bottom), (a.right, a.top, a.right, a.bottom)] {
            out.append(.line(x0: x0, y0: y0, x1: x1, y1: y1, color: .black, width: 1, dashed: false))
        }
        for t in xTicks.values {
            let p = pixel(t, yRange.lowerBound)
            out.append(.line(x0: p.x, y0: a.bottom, x1: p.x, y1: a.bottom + 5, color: .black, width: 1, dashed: false))
            out.append(.text(Plot.format(t, step: xTicks.step), x: p.x, y: a.bottom + 20, anchor: .middle,
                             color: .black, vertical: false, bold: false))
        }
        for t in yTicks.values {
            let p = pixel(xRange.lowerBound, t)
            out.append(.line(x0: a.left - 5, y0: p.y, x1: a.left, y1: p.y, color: .black, width: 1, dashed: false))
            out.append(.text(Plot.format(t, step: yTicks.step), x: a.left - 8, y: p.y + 5, anchor: .end,
                             color: .black, vertical: false, bold: false))
        }
        out.append(.text(title, x: Double(width) / 2, y: 24, anchor: .middle, color: .black, vertical: false, bold: true))
        for (index, note) in notes.enumerated() {
            out.append(.text(note, x: Double(width) / 2, y: 44 + 18 * Double(index), anchor: .middle, color: .black,
                             vertical: false, bold: false))
        }
        out.append(.text(xLabel, x: (a.left + a.right) / 2, y: a.bottom + 44, anchor: .middle,
                         color: .black, vertical: false, bold: false))
        out.append(.text(yLabel, x: 18, y: (a.top + a.bottom) / 2, anchor: .middle, color: .black, vertical: true, bold: false))
        out += legendCommands()
        return out
    }

    func commands(for layer: Layer) -> [Command] {
        switch layer.mark {
        case .line(let points, let dashed):
            guard points.count >= 2 else { return [] }
            let pixels = points.map { pixel($0.x, $0.y) }
            return [.polyline(xs: pixels.map(\.x), ys: pixels.map(\.y), color: layer.color, width: 2, dashed: dashed)]
        case .bars(let edges, let heights, let opacity):
            precondition(edges.count == heights.count + 1, "Plot: \(heights.count) bars need \(heights.count + 1) edges, got \(edges.count)")
            return heights.indices.compactMap { i in
                guard heights[i] > 0 else { return nil }
                let p = pixel(edges[i], heights[i]), q = pixel(edges[i + 1], yRange.lowerBound)
                return .rectangle(x: p.x, y: p.y, width: q.x - p.x, height: q.y - p.y, color: layer.color, opacity: opacity)
            }
        case .dots(let points, let radius, let opacity):
            return points.map { point in
                let p = pixel(point.x, point.y)
                return .circle(x: p.x, y: p.y, radius: radius, color: layer.color, opacity: opacity)
            }
        case .verticalRule(let x, let dashed):
            let p = pixel(x, yRange.lowerBound)
            return [.line(x0: p.x, y0: area.top, x1: p.x, y1: area.bottom, color: layer.color, width: 2, dashed: dashed)]
        }
    }

    /// The legend: a swatch and the name of each named layer, in a corner of the plot area on a
    /// translucent white box, or in columns under the plot.
    func legendCommands() -> [Command] {
        let named = legendEntries
        guard !named.isEmpty else { return [] }
        let a = area
        let entryWidth = legendEntryWidth, rowHeight = 20.0
        var out: [Command] = []
        var origins: [(x: Double, y: Double)] = []
        if legendPosition == .below {
            let columns = legendBelowLayout.columns
            for index in named.indices {
                origins.append((20 + Double(index % columns) * (entryWidth + 12), a.bottom + 54 + rowHeight * Double(index / columns)))
            }
        } else {
            let boxHeight = rowHeight * Double(named.count) + 8
            let x = switch legendPosition {
            case .topLeft, .bottomLeft: a.left + 8
            default: a.right - entryWidth - 8
            }
            let y = switch legendPosition {
            case .topLeft, .topRight: a.top + 8
            default: a.bottom - boxHeight - 8
            }
            out.append(.rectangle(x: x, y: y, width: entryWidth, height: boxHeight, color: .white, opacity: 0.85))
            origins = named.indices.map { (x, y + 4 + rowHeight * Double($0)) }
        }
        for (layer, origin) in zip(named, origins) {
            let (x, rowY) = origin
            switch layer.mark {
            case .line(_, let dashed), .verticalRule(_, let dashed):
                out.append(.line(x0: x + 6, y0: rowY + 10, x1: x + 24, y1: rowY + 10, color: layer.color, width: 2, dashed: dashed))
            case .bars(_, _, let opacity):
                out.append(.rectangle(x: x + 8, y: rowY + 4, width: 14, height: 12, color: layer.color, opacity: max(opacity, 0.6)))
            case .dots(_, _, _):
                out.append(.circle(x: x + 15, y: rowY + 10, radius: 4, color: layer.color, opacity: 1))
            }
            out.append(.text(layer.name!, x: x + 30, y: rowY + 15, anchor: .start, color: .black, vertical: false, bold: false))
        }
        return out
    }

    /// About five "nice" tick values (steps of 1, 2 or 5 × 10ᵏ) inside `range`, and the step.
    static func ticks(_ range: ClosedRange<Double>) -> (values: [Double], step: Double) {
        let span = range.upperBound - range.lowerBound
        let rough = span / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        var values: [Double] = []
        var k = ceil(range.lowerBound / step - 1e-9)
        while k * step <= range.upperBound + step * 1e-9 {
            values.append(k * step)
            k += 1
        }
        return (values, step)
    }

    /// A tick label with as many decimals as the step needs (`-0` printed as `0`).
    static func format(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : Int(ceil(-log10(step) - 1e-9))
        let text = String(format: "%.\(decimals)f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }

    /// A range covering `values` with a margin of `padding` of the span on each side (a unit range
    /// around a single value; `0…1` when there are no finite values).
    public static func range(covering values: [Double], padding: Double = 0.05) -> ClosedRange<Double> {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return 0...1 }
        if high == low { return (low - 0.5)...(high + 0.5) }
        let margin = (high - low) * padding
        return (low - margin)...(high + margin)
    }
}
