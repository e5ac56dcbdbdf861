import Imaging
import Tensor

/// How an image is cropped to whole 16×16 patches.
public enum CropMode: String, Sendable, Codable, CaseIterable {
    /// Centre crop to `(⌊H/16⌋·16, ⌊W/16⌋·16)`: every pixel of the crop is from the image.
    case centered
    /// The authors' release: their call passes `(w, h)` where torchvision expects `(h, w)`, so the
    /// crop is `(height: ⌊W/16⌋·16, width: ⌊H/16⌋·16)`; where that exceeds the image it is padded
    /// with black, so token 0 can be padding. Use it only to reproduce their numbers.
    case authorsCompatible
}

/// Turns an image into the extractor's input: crop to multiples of 16, scale to [0, 1],
/// normalise with CLIP's mean and standard deviation, and cut into 16×16 patch tokens in raster
/// order (at most ``maximumPatches``).
///
/// This matches the authors' preprocessing (crop, `ToTensor`, `Normalize`); images smaller than
/// 16 pixels on a side are first resized to 16×16 (bilinear).
public struct PatchTokenizer: Sendable, Codable, Equatable {
    /// The CLIP normalisation mean (R, G, B).
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    /// The CLIP normalisation standard deviation (R, G, B).
    public static let clipStandardDeviation: [Float] = [0.26862954, 0.26130258, 0.27577711]
    /// The side of a patch.
    public static let patchSize = 16

    /// How the image is cropped.
    public var cropMode: CropMode
    /// The most patches taken from one image (the first ones in raster order).
    public var maximumPatches: Int

    /// Creates a tokenizer; the defaults are the correct crop and the authors' cap of 19,200.
    public init(cropMode: CropMode = .centered, maximumPatches: Int = 19_200) {
        precondition(maximumPatches > 0, "PatchTokenizer: maximumPatches must be positive, got \(maximumPatches)")
        self.cropMode = cropMode
        self.maximumPatches = maximumPatches
    }

    /// The patch grid `(rows, columns)` this tokenizer cuts from an image of the given size
    /// (before the cap).
    public func grid(width: Int, height: Int) -> (rows: Int, columns: Int) {
        let (w, h) = (width < 16 || height < 16) ? (16, 16) : (width, height)
        switch cropMode {
        case .centered: return (h / 16, w / 16)
        case .authorsCompatible: return (w / 16, h / 16)
        }
    }

    /// The normalised, cropped image `[3, H', W']`.
    public func croppedTensor(_ image: Image) -> Tensor {
        var source = image
        if source.width < 16 || source.height < 16 {
            source = source.resized(width: 16, height: 16, filter: .bilinear)
        }
        let (rows, columns) = grid(width: source.width, height: source.height)
        let cropHeight = rows * 16, cropWidth = columns * 16
        let pixels = Tensor(PatchTokenizer.centerCropOrPad(source, width: cropWidth, height: cropHeight))
        let mean = Tensor(shape: [3, 1, 1], scalars: PatchTokenizer.clipMean)
        let deviation = Tensor(shape: [3, 1, 1], scalars: PatchTokenizer.clipStandardDeviation)
        return (pixels - mean) / deviation
    }

    /// Patch tokens `[1, N, 3, 16, 16]` of `image`, raster order, N ≤ ``maximumPatches``.
    public func tokens(_ image: Image) -> Tensor {
        let x = croppedTensor(image)
        let rows = x.shape[1] / 16, columns = x.shape[2] / 16
        let patches = x.reshaped([3, rows, 16, columns, 16]).permuted([1, 3, 0, 2, 4]).reshaped([rows * columns, 3, 16, 16])
        let kept = min(rows * columns, maximumPatches)
        let capped = kept < rows * columns ? patches.sliced(axis: 0, start: 0, end: kept) : patches
        return capped.unsqueezed(at: 0)
    }

    /// torchvision's `center_crop` on an image: pads with black (symmetrically, the extra pixel
    /// after) where the crop is larger, then crops at `round((H − h)/2)`, `round((W − w)/2)`.
    static func centerCropOrPad(_ image: Image, width: Int, height: Int) -> Image {
        var source = image
        if width > image.width || height > image.height {
            let padLeft = width > image.width ? (width - image.width) / 2 : 0
            let padTop = height > image.height ? (height - image.height) / 2 : 0
            let paddedWidth = max(width, image.width), paddedHeight = max(height, image.height)
            var padded = Image(width: paddedWidth, height: paddedHeight, channels: image.channels, repeating: 0)
            for y in 0..<image.height {
                for x in 0..<image.width {
                    for c in 0..<image.channels {
                        padded[x: x + padLeft, y: y + padTop, channel: c] = image[x: x, y: y, channel: c]
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
