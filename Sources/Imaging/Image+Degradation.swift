import Foundation

// The benign degradations an honest photo meets on its way to a detector — a JPEG re-encode and a
// downscale — implemented once, for the seeded augmentation (``ImageAugmentation``) and for the
// deterministic robustness sweeps alike.

extension Image {
    /// A JPEG round trip: the image (converted to RGB first if it is not grey or RGB) encoded as
    /// Pillow's `img.save(buffer, "JPEG", quality=quality, subsampling=…)` writes it, then decoded
    /// as Pillow decodes it.
    ///
    /// - Parameters:
    ///   - quality: the IJG quality, 1…100.
    ///   - subsampling: the chroma sampling (Pillow's default is 4:2:0).
    /// - Returns: the decoded image and the encoded bytes.
    /// - Throws: ``ImageError/invalidArgument(path:detail:)`` for a quality outside 1…100, or an
    ///   encoder or decoder error.
    public func jpegRoundTrip(quality: Int, subsampling: ChromaSubsampling = .ratio420) throws(ImageError) -> (image: Image, encoded: Data) {
        let name = "<jpeg q\(quality) \(subsampling.notation)>"
        guard (1...100).contains(quality) else {
            throw ImageError.invalidArgument(path: name, detail: "JPEG quality must be 1…100, got \(quality)")
        }
        let source = channels == 1 || channels == 3 ? self : convertedToRGB()
        let data = try source.encoded(as: .jpeg(quality: quality, subsampling: subsampling), name: name)
        return (try Image(data: data, name: name, pixelLimit: nil), data)
    }

    /// A PNG round trip: encoded losslessly (8 bits per sample), then decoded to RGB. On 8-bit RGB
    /// pixels this is the identity; it changes only the file the image would be (its format).
    ///
    /// - Returns: the decoded image and the encoded bytes.
    public func pngRoundTrip() throws(ImageError) -> (image: Image, encoded: Data) {
        let data = try encoded(as: .png, name: "<png>")
        return (try Image(data: data, name: "<png>", pixelLimit: nil), data)
    }

    /// The image downscaled by `factor` with Pillow's antialiased bicubic filter, as
    /// `img.resize((max(1, round(W·f)), max(1, round(H·f))), Image.BICUBIC)`; the image itself
    /// when the size does not change.
    ///
    /// - Parameter factor: the scale, in (0, 1].
    /// - Throws: ``ImageError/invalidArgument(path:detail:)`` for a factor outside (0, 1] or NaN.
    public func downscaled(by factor: Double) throws(ImageError) -> Image {
        guard factor > 0, factor <= 1 else {
            throw ImageError.invalidArgument(path: "<downscale>", detail: "downscaling factor must be in (0, 1], got \(factor)")
        }
        let newWidth = max(1, Int((Double(width) * factor).rounded()))
        let newHeight = max(1, Int((Double(height) * factor).rounded()))
        return newWidth == width && newHeight == height ? self : resized(width: newWidth, height: newHeight, filter: .bicubic)
    }
}

extension ChromaSubsampling {
    /// The usual notation: `4:4:4`, `4:2:2`, `4:2:0`.
    public var notation: String {
        switch self {
        case .ratio444: "4:4:4"
        case .ratio422: "4:2:2"
        case .ratio420: "4:2:0"
        }
    }
}
