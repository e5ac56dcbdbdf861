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

    /// The most patches taken from one image (the first ones in raster order).
    public var maximumPatches: Int

    /// Creates a tokenizer; the default cap is the authors' 19,200 patches.
    public init(maximumPatches: Int = 19_200) {
        precondition(maximumPatches > 0, "PatchTokenizer: maximumPatches must be positive, got \(maximumPatches)")
        self.maximumPatches = maximumPatches
    }

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
