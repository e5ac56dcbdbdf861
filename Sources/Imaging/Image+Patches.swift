import Tensor

/// How an image is cropped to whole patches.
public enum CropMode: String, Sendable, Codable, CaseIterable {
    /// Centre crop to `(⌊H/16⌋·16, ⌊W/16⌋·16)`: every pixel of the crop is from the image.
    case centered
    /// The authors' release: their call passes `(w, h)` where torchvision expects `(h, w)`, so the
    /// crop is `(height: ⌊W/16⌋·16, width: ⌊H/16⌋·16)`; where that exceeds the image it is padded
    /// with black, so token 0 can be padding. Use it only to reproduce their numbers.
    case authorsCompatible

    /// The patch grid `(rows, columns)` this mode cuts from an image of the given size, with
    /// square patches of side `patchSize`; an image smaller than a patch on a side counts as one
    /// patch (it is resized up first).
    public func patchGrid(width: Int, height: Int, patchSize: Int = 16) -> (rows: Int, columns: Int) {
        let (w, h) = (width < patchSize || height < patchSize) ? (patchSize, patchSize) : (width, height)
        switch self {
        case .centered: return (h / patchSize, w / patchSize)
        case .authorsCompatible: return (w / patchSize, h / patchSize)
        }
    }
}

extension Image {
    /// The CLIP normalisation mean (R, G, B).
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    /// The CLIP normalisation standard deviation (R, G, B).
    public static let clipStandardDeviation: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// The extractor's input image: cropped to whole patches by `cropMode`, scaled to [0, 1] and
    /// normalised with CLIP's mean and standard deviation, `[3, rows·patchSize, columns·patchSize]`
    /// (the grid of ``CropMode/patchGrid(width:height:patchSize:)``).
    ///
    /// This is the authors' preprocessing (`center_crop`, `ToTensor`, `Normalize`); an image smaller
    /// than `patchSize` on a side is first resized to `patchSize × patchSize` (bilinear). Cut it
    /// into tokens with NN's `PatchTokenizer`.
    public func patchAlignedTensor(cropMode: CropMode = .centered, patchSize: Int = 16) -> Tensor {
        var source = self
        if source.width < patchSize || source.height < patchSize {
            source = source.resized(width: patchSize, height: patchSize, filter: .bilinear)
        }
        let (rows, columns) = cropMode.patchGrid(width: source.width, height: source.height, patchSize: patchSize)
        let pixels = Tensor(source.centerCroppedOrPadded(width: columns * patchSize, height: rows * patchSize))
        let mean = Tensor(shape: [3, 1, 1], scalars: Image.clipMean)
        let deviation = Tensor(shape: [3, 1, 1], scalars: Image.clipStandardDeviation)
        return (pixels - mean) / deviation
    }

    /// torchvision's `center_crop`: pads with black (symmetrically, the extra pixel after) where
    /// the crop is larger than the image, then crops at `round((H − h)/2)`, `round((W − w)/2)`.
    public func centerCroppedOrPadded(width: Int, height: Int) -> Image {
        var source = self
        if width > self.width || height > self.height {
            let padLeft = width > self.width ? (width - self.width) / 2 : 0
            let padTop = height > self.height ? (height - self.height) / 2 : 0
            let paddedWidth = max(width, self.width), paddedHeight = max(height, self.height)
            var padded = Image(width: paddedWidth, height: paddedHeight, channels: channels, repeating: 0)
            for y in 0..<self.height {
                for x in 0..<self.width {
                    for c in 0..<channels {
                        padded[x: x + padLeft, y: y + padTop, channel: c] = self[x: x, y: y, channel: c]
                    }
                }
            }
            source = padded
        }
        let top = Int((Double(source.height - height) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(source.width - width) / 2).rounded(.toNearestOrEven))
        return source.cropped(x: left, y: top, width: width, height: height)
    }
}
