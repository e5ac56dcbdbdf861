/// Colour conversions.
extension Image {
    /// The image with 3 channels: grey replicated, alpha dropped (as Pillow's `convert("RGB")`).
    public func convertedToRGB() -> Image {
        if channels == 3 { return self }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            let base = i * channels
            let (r, g, b) = channels >= 3 ? (pixels[base], pixels[base + 1], pixels[base + 2])
                                          : (pixels[base], pixels[base], pixels[base])
            rgb[i * 3] = r
            rgb[i * 3 + 1] = g
            rgb[i * 3 + 2] = b
        }
        return Image(width: width, height: height, channels: 3, pixels: rgb)
    }
}
