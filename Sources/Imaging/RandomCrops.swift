import Tensor

/// Random crops of an image, the augmentation Grain uses when fitting a detector: several
/// samples of a photo's low-level statistics instead of one.
///
/// Each crop is `min(size, W) × min(size, H)` (a side shorter than `size` is kept whole), its
/// top-left corner drawn uniformly from every position that keeps it inside the image, as
/// torchvision's `RandomCrop(size)` does for images at least `size` on a side. With `count` 0
/// the image itself is the only "crop" (the whole image, as at detection time).
///
/// Positions are drawn as `⌊u·(W − w + 1)⌋` from `u` = `RandomNumberGenerator.nextUnitDouble()`,
/// left then top for each crop in turn, so a seeded `RandomGenerator` gives the same crops on
/// every platform. Use a size that is a multiple of 16: `NN.PatchTokenizer` crops each crop
/// further to whole patches.
///
/// ```swift
/// var generator = RandomGenerator(seed: 7)
/// let crops = RandomCrops(count: 4, size: 256).crops(of: photo, using: &generator)  // 4 × [256×256]
/// ```
public struct RandomCrops: Sendable, Codable, Equatable {
    /// The number of crops per image `K`; 0 means the whole image, once.
    public var count: Int
    /// The side of a square crop in pixels.
    public var size: Int

    /// Creates the augmentation.
    ///
    /// - Precondition: `count ≥ 0` and `size ≥ 16` (a patch).
    public init(count: Int, size: Int = 256) {
        precondition(count >= 0, "RandomCrops: count must be ≥ 0, got \(count)")
        precondition(size >= 16, "RandomCrops: size must be ≥ 16, got \(size)")
        self.count = count
        self.size = size
    }

    /// The whole image, once (no augmentation).
    public static let wholeImage = RandomCrops(count: 0)

    /// The crops of `image`: `[image]` when ``count`` is 0, otherwise ``count`` random crops.
    public func crops(of image: Image, using generator: inout some RandomNumberGenerator) -> [Image] {
        guard count > 0 else { return [image] }
        let width = min(size, image.width), height = min(size, image.height)
        return (0..<count).map { _ in
            let x = RandomCrops.uniform(below: image.width - width + 1, using: &generator)
            let y = RandomCrops.uniform(below: image.height - height + 1, using: &generator)
            return image.cropped(x: x, y: y, width: width, height: height)
        }
    }

    /// An integer uniform in `0..<bound` from one 53-bit draw.
    static func uniform(below bound: Int, using generator: inout some RandomNumberGenerator) -> Int {
        min(Int(generator.nextUnitDouble() * Double(bound)), bound - 1)
    }
}
