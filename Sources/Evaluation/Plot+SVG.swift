import Foundation

extension Plot {
    /// The plot as a standalone SVG document (`width × height` user units, sans-serif text).
    public func svg() -> String {
        var lines = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" "
                + "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"13\">",
        ]
        var clipCount = 0
        for command in commands() {
            switch command {
            case .line(let x0, let y0, let x1, let y1, let color, let width, let dashed):
                lines.append("<line x1=\"\(Plot.number(x0))\" y1=\"\(Plot.number(y0))\" x2=\"\(Plot.number(x1))\" y2=\"\(Plot.number(y1))\" "
                    + "stroke=\"\(color.hex)\" stroke-width=\"\(Plot.number(width))\"" + (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>")
            case .polyline(let xs, let ys, let color, let width, let dashed):
                let points = zip(xs, ys).map { "\(Plot.number($0)),\(Plot.number($1))" }.joined(separator: " ")
                lines.append("<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(color.hex)\" "
                    + "stroke-width=\"\(Plot.number(width))\" stroke-linejoin=\"round\"" + (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>")
            case .rectangle(let x, let y, let width, let height, let color, let opacity):
                lines.append("<rect x=\"\(Plot.number(x))\" y=\"\(Plot.number(y))\" width=\"\(Plot.number(width))\" "
                    + "height=\"\(Plot.number(height))\" fill=\"\(color.hex)\"" + Plot.opacityAttribute(opacity) + "/>")
            case .circle(let x, let y, let radius, let color, let opacity):
                lines.append("<circle cx=\"\(Plot.number(x))\" cy=\"\(Plot.number(y))\" r=\"\(Plot.number(radius))\" "
                    + "fill=\"\(color.hex)\"" + Plot.opacityAttribute(opacity) + "/>")
            case .text(let text, let x, let y, let anchor, let color, let vertical, let bold):
                let transform = vertical ? " transform=\"rotate(-90 \(Plot.number(x)) \(Plot.number(y)))\"" : ""
                lines.append("<text x=\"\(Plot.number(x))\" y=\"\(Plot.number(y))\" text-anchor=\"\(anchor.rawValue)\" "
                    + "fill=\"\(color.hex)\"" + (bold ? " font-weight=\"bold\" font-size=\"15\"" : "") + transform + ">"
                    + Plot.escaped(text) + "</text>")
            case .beginClip(let x, let y, let width, let height):
                clipCount += 1
                lines.append("<clipPath id=\"clip\(clipCount)\"><rect x=\"\(Plot.number(x))\" y=\"\(Plot.number(y))\" "
                    + "width=\"\(Plot.number(width))\" height=\"\(Plot.number(height))\"/></clipPath>")
                lines.append("<g clip-path=\"url(#clip\(clipCount))\">")
            case .endClip:
                lines.append("</g>")
            }
        }
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A coordinate with at most two decimals, without trailing zeros.
    static func number(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    static func opacityAttribute(_ opacity: Double) -> String {
        opacity >= 1 ? "" : " fill-opacity=\"\(number(opacity))\""
    }

    /// Text with XML's special characters escaped.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
