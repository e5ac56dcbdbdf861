/// Colour conversions.
extension Image {
    /// The image with 3 channels, as Pillow's `convert("RGB")` makes it from 8-bit data: grey (1
    /// channel) and grey + alpha (2) are replicated into R, G and B, alpha (2 or 4 channels) is
    /// dropped without compositing; a 3-channel image is returned unchanged.
    public func convertedToRGB() -> Image {
        if channels == 3 { return self }
        let count = width * height
        var rgb = [UInt8](repeating: 0, count: count * 3)
        pixels.withUnsafeBufferPointer { source in
            rgb.withUnsafeMutableBufferPointer { target in
                for index in 0..<count {
                    let base = index &* channels
                    if channels >= 3 {
                        target[index &* 3] = source[base]
                        target[index &* 3 &+ 1] = source[base &+ 1]
                        target[index &* 3 &+ 2] = source[base &+ 2]
                    } else {
                        let grey = source[base]
                        target[index &* 3] = grey
                        target[index &* 3 &+ 1] = grey
                        target[index &* 3 &+ 2] = grey
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: rgb)
    }
}
