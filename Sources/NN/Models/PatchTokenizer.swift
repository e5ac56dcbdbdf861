import Tensor

/// Cuts the extractor's input image into its tokens: 16×16 patches in raster order, at most
/// ``maximumPatches`` of them.
///
/// Shapes: `[3, H, W]` (H, W multiples of 16) → `[1, N, 3, 16, 16]`, N = min(H/16 · W/16,
/// ``maximumPatches``). The image tensor is Imaging's `Image.patchAlignedTensor(cropMode:patchSize:)`
/// (crop to whole patches, CLIP normalisation); OneClass's `ImageTokenizer` does both steps.
///
/// ```swift
/// let tokens = PatchTokenizer().tokens(image.patchAlignedTensor())   // [1, N, 3, 16, 16]
/// ```
public struct PatchTokenizer: Sendable, Codable, Equatable {
    /// The side of a patch.
    public static let patchSize = 16

    /// The authors' cap on patches per image.
    public static let defaultMaximumPatches = 19_200

    /// The most patches taken from one image (the first ones in raster order); ≥ 1.
    public private(set) var maximumPatches: Int

    /// A tokenizer with the authors' cap of 19,200 patches.
    public init() {
        maximumPatches = Self.defaultMaximumPatches
    }

    /// Creates a tokenizer taking at most `maximumPatches` patches per image.
    ///
    /// - Throws: ``PatchTokenizerError/nonPositivePatchCap(_:)`` when `maximumPatches < 1`.
    public init(maximumPatches: Int) throws(PatchTokenizerError) {
        guard maximumPatches >= 1 else { throw .nonPositivePatchCap(maximumPatches) }
        self.maximumPatches = maximumPatches
    }

    /// A tokenizer whose cap the caller has already validated (≥ 1).
    package init(validatedMaximumPatches maximumPatches: Int) {
        self.maximumPatches = maximumPatches
    }

    /// Decodes a tokenizer and validates its cap.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(maximumPatches: try c.decode(Int.self, forKey: .maximumPatches))
    }

    private enum CodingKeys: String, CodingKey { case maximumPatches }

    /// Patch tokens `[1, N, 3, 16, 16]` of `image` `[3, H, W]`, raster order, N ≤ ``maximumPatches``.
    ///
    /// - Precondition: `image` has rank 3, 3 channels, and H and W are positive multiples of 16.
    public func tokens(_ image: Tensor) -> Tensor {
        let size = PatchTokenizer.patchSize
        precondition(image.rank == 3 && image.shape[0] == 3 && image.shape[1] >= size && image.shape[2] >= size
                     && image.shape[1] % size == 0 && image.shape[2] % size == 0,
                     "PatchTokenizer: expected [3, H, W] with H and W multiples of 16, got \(image.shape)")
        let rows = image.shape[1] / size, columns = image.shape[2] / size
        let patches = image.reshaped([3, rows, size, columns, size]).permuted([1, 3, 0, 2, 4])
            .reshaped([rows * columns, 3, size, size])
        let kept = min(rows * columns, maximumPatches)
        let capped = kept < rows * columns ? patches.sliced(axis: 0, start: 0, end: kept) : patches
        return capped.unsqueezed(at: 0)
    }
}

/// A patch tokenizer setting out of range (from Swift, the command line or a file).
public enum PatchTokenizerError: Error, Equatable, CustomStringConvertible {
    /// The cap on patches per image is below 1.
    case nonPositivePatchCap(Int)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .nonPositivePatchCap(let cap): "the patch cap (maximumPatches) is \(cap); it must be at least 1"
        }
    }
}
