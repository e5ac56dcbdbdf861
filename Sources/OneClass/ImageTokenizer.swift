import Imaging
import NN
import Tensor

/// Turns an image into the extractor's input in one call: Imaging's
/// `Image.patchAlignedTensor(cropMode:patchSize:)` (crop to multiples of 16, scale to [0, 1],
/// CLIP normalisation), then NN's `PatchTokenizer` (16×16 patch tokens in raster order, at most
/// ``maximumPatches``).
///
/// This matches the authors' preprocessing (crop, `ToTensor`, `Normalize`); images smaller than
/// 16 pixels on a side are first resized to 16×16 (bilinear). A ``Detector`` stores one (its
/// JSON keys `cropMode` and `maximumPatches` are the detector file's `tokenizer`).
///
/// ```swift
/// let tokens = ImageTokenizer().tokens(try Image(contentsOfFile: "photo.jpg"))   // [1, N, 3, 16, 16]
/// ```
public struct ImageTokenizer: Sendable, Codable, Equatable {
    /// How the image is cropped.
    public var cropMode: CropMode
    /// The most patches taken from one image (the first ones in raster order); ≥ 1.
    public private(set) var maximumPatches: Int

    /// The correct crop and the authors' cap of 19,200 patches.
    public init() {
        cropMode = .centered
        maximumPatches = PatchTokenizer.defaultMaximumPatches
    }

    /// Creates a tokenizer.
    ///
    /// - Throws: NN's `PatchTokenizerError.nonPositivePatchCap(_:)` when `maximumPatches < 1`.
    public init(cropMode: CropMode = .centered, maximumPatches: Int = PatchTokenizer.defaultMaximumPatches) throws(PatchTokenizerError) {
        guard maximumPatches >= 1 else { throw .nonPositivePatchCap(maximumPatches) }
        self.cropMode = cropMode
        self.maximumPatches = maximumPatches
    }

    /// Decodes a tokenizer (a detector file's `tokenizer`) and validates its cap.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(cropMode: try c.decode(CropMode.self, forKey: .cropMode),
                      maximumPatches: try c.decode(Int.self, forKey: .maximumPatches))
    }

    private enum CodingKeys: String, CodingKey { case cropMode, maximumPatches }

    /// The patch grid `(rows, columns)` cut from an image of the given size (before the cap).
    public func grid(width: Int, height: Int) -> (rows: Int, columns: Int) {
        cropMode.patchGrid(width: width, height: height, patchSize: PatchTokenizer.patchSize)
    }

    /// The number of patch tokens ``tokens(_:)`` cuts from an image of the given size (after the
    /// cap; at least 1, as images smaller than a patch are first resized to one).
    public func patchCount(width: Int, height: Int) -> Int {
        let (rows, columns) = grid(width: width, height: height)
        return min(max(rows * columns, 1), maximumPatches)
    }

    /// The normalised, cropped image `[3, H', W']`.
    public func croppedTensor(_ image: Image) -> Tensor {
        image.patchAlignedTensor(cropMode: cropMode, patchSize: PatchTokenizer.patchSize)
    }

    /// Patch tokens `[1, N, 3, 16, 16]` of `image`, raster order, N ≤ ``maximumPatches``.
    public func tokens(_ image: Image) -> Tensor {
        PatchTokenizer(validatedMaximumPatches: maximumPatches).tokens(croppedTensor(image))
    }
}
