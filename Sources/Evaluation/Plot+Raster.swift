import Foundation
import Imaging

extension Plot {
    /// The plot drawn into an RGB image of `width × height` pixels: the same layout as ``svg()``,
    /// without anti-aliasing, text in a 5×7 bitmap font drawn at twice its size (capitals only).
    ///
    /// Save it with Imaging's encoder: `try plot.rasterized().write(toFile: "plot.png", as: .png)`.
    public func rasterized() -> Image {
        var canvas = Canvas(width: width, height: height)
        for command in commands() {
            switch command {
            case .line(let x0, let y0, let x1, let y1, let color, let width, let dashed):
                canvas.drawLine(from: (x0, y0), to: (x1, y1), color: color, width: width, dashed: dashed)
            case .polyline(let xs, let ys, let color, let width, let dashed):
                for i in 1..<xs.count {
                    canvas.drawLine(from: (xs[i - 1], ys[i - 1]), to: (xs[i], ys[i]), color: color, width: width, dashed: dashed)
                }
            case .rectangle(let x, let y, let width, let height, let color, let opacity):
                canvas.fillRectangle(x: x, y: y, width: width, height: height, color: color, opacity: opacity)
            case .circle(let x, let y, let radius, let color, let opacity):
                canvas.fillCircle(x: x, y: y, radius: radius, color: color, opacity: opacity)
            case .text(let text, let x, let y, let anchor, let color, let vertical, let bold):
                canvas.drawText(text, x: x, y: y, anchor: anchor, color: color, vertical: vertical, bold: bold)
            case .beginClip(let x, let y, let width, let height):
                canvas.clip = (Int(x.rounded()), Int(y.rounded()), Int((x + width).rounded()), Int((y + height).rounded()))
            case .endClip:
                canvas.clip = nil
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: canvas.pixels)
    }
}

/// A tiny RGB rasteriser: filled rectangles and circles with opacity, thick (optionally dashed)
/// lines, and bitmap text. Coordinates are pixels, origin top-left; pixel `(i, j)` covers
/// `[i, i+1) × [j, j+1)` and is painted when its centre is inside a shape.
struct Canvas {
    let width: Int
    let height: Int
    /// `height × width × 3` samples, row-major.
    var pixels: [UInt8]
    /// When set, only pixels with `x0 ≤ x < x1`, `y0 ≤ y < y1` are painted.
    var clip: (x0: Int, y0: Int, x1: Int, y1: Int)?

    /// A white canvas.
    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    /// Blends `color` at `opacity` over pixel `(x, y)`; outside the canvas or the clip it does nothing.
    mutating func blend(_ x: Int, _ y: Int, _ color: PlotColor, _ opacity: Double) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        if let clip, x < clip.x0 || y < clip.y0 || x >= clip.x1 || y >= clip.y1 { return }
        let index = (y * width + x) * 3
        if opacity >= 1 {
            pixels[index] = color.red
            pixels[index + 1] = color.green
            pixels[index + 2] = color.blue
            return
        }
        for (offset, value) in [color.red, color.green, color.blue].enumerated() {
            let mixed = Double(pixels[index + offset]) * (1 - opacity) + Double(value) * opacity
            pixels[index + offset] = UInt8(max(0, min(255, mixed.rounded())))
        }
    }

    /// Fills the pixels whose centres lie in the rectangle (negative sizes are flipped).
    mutating func fillRectangle(x: Double, y: Double, width: Double, height: Double, color: PlotColor, opacity: Double) {
        let left = min(x, x + width), right = max(x, x + width), top = min(y, y + height), bottom = max(y, y + height)
        let columns = max(0, Int((left - 0.5).rounded(.up)))...min(self.width - 1, Int((right - 0.5).rounded(.down)))
        let rows = max(0, Int((top - 0.5).rounded(.up)))...min(self.height - 1, Int((bottom - 0.5).rounded(.down)))
        guard !columns.isEmpty, !rows.isEmpty, columns.lowerBound <= columns.upperBound else { return }
        for j in rows {
            for i in columns { blend(i, j, color, opacity) }
        }
    }

    /// Fills the pixels whose centres lie within `radius` of `(x, y)`.
    mutating func fillCircle(x: Double, y: Double, radius: Double, color: PlotColor, opacity: Double) {
        let r = max(radius, 0.5)
        for j in Int((y - r).rounded(.down))...Int((y + r).rounded(.up)) {
            for i in Int((x - r).rounded(.down))...Int((x + r).rounded(.up)) {
                let dx = Double(i) + 0.5 - x, dy = Double(j) + 0.5 - y
                if dx * dx + dy * dy <= r * r { blend(i, j, color, opacity) }
            }
        }
    }

    /// A line of the given width: squares of that side stamped every half pixel along it; dashed
    /// lines alternate 6 pixels drawn and 4 skipped, measured along the line.
    mutating func drawLine(from start: (Double, Double), to end: (Double, Double), color: PlotColor, width: Double, dashed: Bool) {
        let dx = end.0 - start.0, dy = end.1 - start.1
        let length = (dx * dx + dy * dy).squareRoot()
        let steps = max(1, Int((length * 2).rounded(.up)))
        let half = max(width, 1) / 2
        var painted = Set<Int>()
        for s in 0...steps {
            let t = Double(s) / Double(steps)
            if dashed && (t * length).truncatingRemainder(dividingBy: 10) >= 6 { continue }
            let cx = start.0 + t * dx, cy = start.1 + t * dy
            for j in Int((cy - half).rounded())..<Int((cy + half).rounded()) {
                for i in Int((cx - half).rounded())..<Int((cx + half).rounded()) where painted.insert(j &* 65_536 &+ i).inserted {
                    blend(i, j, color, 1)
                }
            }
        }
    }

    /// Text in the 5×7 bitmap font at scale 2 (3 for bold, when it fits) with its baseline at `y`; vertical text
    /// reads bottom to top, centred on `(x, y)` along its length like SVG's `rotate(-90)`.
    mutating func drawText(_ text: String, x: Double, y: Double, anchor: Plot.TextAnchor, color: PlotColor,
                           vertical: Bool, bold: Bool) {
        let characters = Array(text)
        // Bold text (titles) is drawn larger when it fits the canvas width.
        let scale = bold && characters.count * BitmapFont.advance * 3 <= width - 20 ? 3 : 2
        let length = Double(characters.count * BitmapFont.advance * scale - scale)
        let offset: Double = switch anchor {
        case .start: 0
        case .middle: -length / 2
        case .end: -length
        }
        let glyphHeight = BitmapFont.height * scale
        for (index, character) in characters.enumerated() {
            let rows = BitmapFont.glyph(character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (1 << (4 - column)) != 0 {
                    // Position along the text (u) and above the baseline (v), in pixels.
                    let u = Int(offset.rounded()) + (index * BitmapFont.advance + column) * scale
                    let v = glyphHeight - row * scale
                    for a in 0..<scale {
                        for b in 0..<scale {
                            if vertical {
                                blend(Int(x.rounded()) - v + b, Int(y.rounded()) - u - a - 1, color, 1)
                            } else {
                                blend(Int(x.rounded()) + u + a, Int(y.rounded()) - v + b, color, 1)
                            }
                        }
                    }
                }
            }
        }
    }
}
