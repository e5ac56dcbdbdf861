import Foundation
import Imaging
import OneClass

extension EvidenceMap {
    /// Colours of the map's diverging scale: typical of the fit photos (margin above the
    /// threshold), neutral at the threshold, atypical (below). ColorBrewer's RdBu end points.
    static let typicalColor = PlotColor(red: 33, green: 102, blue: 172)
    /// The colour at the threshold (margin 0).
    static let neutralColor = PlotColor(red: 247, green: 247, blue: 247)
    /// The colour of the most atypical region.
    static let atypicalColor = PlotColor(red: 178, green: 24, blue: 43)
    /// The weight of the colour over the image's grey levels.
    static let tintOpacity = 0.6

    /// The map drawn over `image` as an RGB picture: the image (downscaled to at most
    /// `maximumWidth` pixels wide, in grey levels) with each pixel tinted by the mean margin of the
    /// windows covering it (`patchMargins()`) on a diverging scale centred on the threshold —
    /// blue above it (typical of the real photos the detector was fitted on), near-white at it,
    /// red below it (atypical); the two sides are scaled separately to the highest and lowest
    /// margin (matplotlib's `TwoSlopeNorm`). Pixels outside the patch grid are darkened (not
    /// scored). Below the image: a colour bar with its numeric range and the threshold marked,
    /// the whole image's verdict and "region scores, not a segmentation".
    ///
    /// Save it with Imaging's encoder: `try map.rendered(over: image).write(toFile: "map.png", as: .png)`.
    ///
    /// - Parameters:
    ///   - image: the image the map was computed for (its size is checked).
    ///   - maximumWidth: the widest the image is drawn, in pixels (at least 64).
    /// - Throws: `EvidenceError.imageSizeMismatch`
    ///   for another image, `EvidenceError.invalidConfiguration` for `maximumWidth < 64`.
    public func rendered(over image: Image, maximumWidth: Int = 1024) throws(EvidenceError) -> Image {
        guard image.width == imageWidth && image.height == imageHeight else {
            throw .imageSizeMismatch(expectedWidth: imageWidth, expectedHeight: imageHeight, width: image.width, height: image.height)
        }
        guard maximumWidth >= 64 else { throw .invalidConfiguration("maximum width \(maximumWidth) px, expected at least 64") }
        let shownWidth = min(imageWidth, maximumWidth)
        let shownHeight = max(1, Int((Double(imageHeight) * Double(shownWidth) / Double(imageWidth)).rounded()))
        let shown = shownWidth == imageWidth ? image : image.resized(width: shownWidth, height: shownHeight, filter: .bilinear)

        let margins = patchMargins()
        let finite = windows.map(\.margin).filter(\.isFinite)
        let lowest = min(0, finite.min() ?? 0), highest = max(0, finite.max() ?? 0)

        let width = max(shownWidth, 640), left = (width - shownWidth) / 2
        let verdict = self.image.isGenerated ? "GENERATED" : "REAL"
        let side = configuration.windowPixels, stride = configuration.stridePixels
        let lines = [
            "MARGIN = LOG-LIKELIHOOD − THRESHOLD. BLUE: TYPICAL OF THE FIT PHOTOS, RED: ATYPICAL, DARK: NOT SCORED",
            String(format: "WHOLE IMAGE: %@ (MARGIN %.1f). ", verdict, imageMargin)
                + "REGION SCORES, NOT A SEGMENTATION: \(windows.count) WINDOWS OF \(side) PX, STRIDE \(stride) PX",
        ].flatMap { Self.wrapped($0, columns: (width - 20) / (BitmapFont.advance * 2)) }
        // Colour bar, its labels, then one 20-px line per caption line.
        let legendHeight = 96 + 20 * lines.count
        var canvas = Canvas(width: width, height: shownHeight + legendHeight)
        // The image in grey levels, tinted by the mean margin of its patch.
        for y in 0..<shownHeight {
            let sourceY = Int((Double(y) + 0.5) * Double(imageHeight) / Double(shownHeight))
            let row = floorDivision(sourceY - grid.y, patchSize)
            for x in 0..<shownWidth {
                let sourceX = Int((Double(x) + 0.5) * Double(imageWidth) / Double(shownWidth))
                let column = floorDivision(sourceX - grid.x, patchSize)
                let grey = Self.luminance(shown, x, y)
                let color: PlotColor
                if row >= 0 && row < gridRows && column >= 0 && column < gridColumns, margins[row * gridColumns + column].isFinite {
                    let tint = Self.color(margin: margins[row * gridColumns + column], lowest: lowest, highest: highest)
                    func mix(_ value: UInt8) -> UInt8 {
                        UInt8((grey * (1 - Self.tintOpacity) + Double(value) * Self.tintOpacity).rounded())
                    }
                    color = PlotColor(red: mix(tint.red), green: mix(tint.green), blue: mix(tint.blue))
                } else {
                    let dark = UInt8((grey * 0.35).rounded())
                    color = PlotColor(red: dark, green: dark, blue: dark)
                }
                canvas.blend(left + x, y, color, 1)
            }
        }

        // The colour bar: linear in the margin from the lowest to the highest, threshold marked.
        let barLeft = 20, barWidth = min(600, width - 40), barTop = shownHeight + 14, barHeight = 16
        let span = highest - lowest
        for i in 0..<barWidth {
            let value = span > 0 ? lowest + span * (Double(i) + 0.5) / Double(barWidth) : 0
            canvas.fillRectangle(x: Double(barLeft + i), y: Double(barTop), width: 1, height: Double(barHeight),
                                 color: Self.color(margin: value, lowest: lowest, highest: highest), opacity: 1)
        }
        let thresholdX = Double(barLeft) + (span > 0 ? (0 - lowest) / span * Double(barWidth) : 0)
        canvas.drawLine(from: (thresholdX, Double(barTop - 4)), to: (thresholdX, Double(barTop + barHeight + 4)),
                        color: .black, width: 2, dashed: false)
        let labelY = Double(barTop + barHeight + 20)
        canvas.drawText(String(format: "%.1f", lowest), x: Double(barLeft), y: labelY, anchor: .start, color: .black,
                        vertical: false, bold: false)
        canvas.drawText(String(format: "%.1f", highest), x: Double(barLeft + barWidth), y: labelY, anchor: .end, color: .black,
                        vertical: false, bold: false)
        canvas.drawText("0 = THRESHOLD", x: min(max(thresholdX, Double(barLeft + 90)), Double(barLeft + barWidth - 90)),
                        y: labelY + 20, anchor: .middle, color: .black, vertical: false, bold: false)

        var baseline = labelY + 46
        for line in lines {
            canvas.drawText(line, x: 10, y: baseline, anchor: .start, color: .black, vertical: false, bold: false)
            baseline += 20
        }
        return Image(width: canvas.width, height: canvas.height, channels: 3, pixels: canvas.pixels)
    }

    /// The colour of `margin` on the diverging scale: the neutral colour at 0, blending to the
    /// typical colour at `highest` and to the atypical colour at `lowest` (each side linear).
    static func color(margin: Double, lowest: Double, highest: Double) -> PlotColor {
        let (end, fraction) = margin >= 0
            ? (typicalColor, highest > 0 ? min(1, margin / highest) : 0)
            : (atypicalColor, lowest < 0 ? min(1, margin / lowest) : 0)
        func blend(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * fraction).rounded()) }
        return PlotColor(red: blend(neutralColor.red, end.red), green: blend(neutralColor.green, end.green),
                         blue: blend(neutralColor.blue, end.blue))
    }

    /// Rec. 601 luma of pixel `(x, y)` (grey images: their one channel).
    static func luminance(_ image: Image, _ x: Int, _ y: Int) -> Double {
        guard image.channels >= 3 else { return Double(image[x: x, y: y, channel: 0]) }
        return 0.299 * Double(image[x: x, y: y, channel: 0]) + 0.587 * Double(image[x: x, y: y, channel: 1])
            + 0.114 * Double(image[x: x, y: y, channel: 2])
    }

    /// `text` broken at spaces into lines of at most `columns` characters.
    static func wrapped(_ text: String, columns: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > columns {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}

/// `⌊a / b⌋` for positive `b` (Swift's `/` rounds towards zero).
private func floorDivision(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}
