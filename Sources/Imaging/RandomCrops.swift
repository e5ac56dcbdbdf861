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
///
/// With a side range (``minimumSize`` < ``size``) each crop's side is first drawn uniformly
/// among the multiples of 16 from ``minimumSize`` to `min(size, ⌊min(W, H)/16⌋·16)` (one draw
/// `⌊u·n⌋`), then its position: crops of several sizes cover the patch counts of the images a
/// detector will see. With one side (the default) no side is drawn, so the crops equal those of
/// earlier versions for the same seed.
public struct RandomCrops: Sendable, Codable, Equatable {
    /// The number of crops per image `K`; 0 means the whole image, once.
    public var count: Int
    /// The side of a square crop in pixels (the largest side, with a range).
    public var size: Int
    /// The smallest side of a crop; equal to ``size`` for crops of one size.
    public var minimumSize: Int

    /// Creates the augmentation.
    ///
    /// - Precondition: `count ≥ 0` and `size ≥ 16` (a patch).
    public init(count: Int, size: Int = 256) {
        precondition(count >= 0, "RandomCrops: count must be ≥ 0, got \(count)")
        precondition(size >= 16, "RandomCrops: size must be ≥ 16, got \(size)")
        self.count = count
        self.size = size
        self.minimumSize = size
    }

    /// Crops whose sides range over the multiples of 16 in `sizes`.
    ///
    /// - Throws: ``RandomCropsError`` when `count` is negative or the range's ends are not
    ///   multiples of 16 of at least 16.
    public init(count: Int, sizes: ClosedRange<Int>) throws(RandomCropsError) {
        guard count >= 0 else { throw .invalid("crop count \(count), expected ≥ 0") }
        guard sizes.lowerBound >= 16, sizes.lowerBound % 16 == 0, sizes.upperBound % 16 == 0 else {
            throw .invalid("crop sides \(sizes.lowerBound)…\(sizes.upperBound), expected multiples of 16, at least 16")
        }
        self.count = count
        self.size = sizes.upperBound
        self.minimumSize = sizes.lowerBound
    }

    /// Crops of one side `side` (a side of the image shorter than it is kept whole), for users
    /// that cut fixed-size training crops rather than whole patches: `side` need not be a
    /// multiple of 16.
    ///
    /// - Throws: ``RandomCropsError`` when `count` is negative or `side` is below 1.
    public init(count: Int, fixedSide side: Int) throws(RandomCropsError) {
        guard count >= 0 else { throw .invalid("crop count \(count), expected ≥ 0") }
        guard side >= 1 else { throw .invalid("crop side \(side), expected ≥ 1") }
        self.init(uncheckedCount: count, sizes: side...side)
    }

    /// The default crops for fitting a detector: 32 random crops per photo with sides from 64 to
    /// 256 (the development-set set-up of Documentation/Results.md).
    public static let standardFit = RandomCrops(uncheckedCount: 32, sizes: 64...256)

    /// Crops whose settings the caller has already validated with its own typed error (test
    /// crops of any side ≥ 1, a trainer's crop size): no check here.
    package init(uncheckedCount count: Int, sizes: ClosedRange<Int>) {
        self.count = count
        self.size = sizes.upperBound
        self.minimumSize = sizes.lowerBound
    }

    enum CodingKeys: String, CodingKey { case count, size, minimumSize }

    /// Decodes crops (files written before ``minimumSize`` existed read as crops of one size)
    /// and validates them.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let count = try container.decode(Int.self, forKey: .count)
        let size = try container.decode(Int.self, forKey: .size)
        let minimum = try container.decodeIfPresent(Int.self, forKey: .minimumSize) ?? size
        guard count >= 0, minimum >= 16, minimum <= size else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "random crops: count \(count), sides \(minimum)…\(size): expected count ≥ 0 and 16 ≤ minimum ≤ size"))
        }
        self.count = count
        self.size = size
        self.minimumSize = minimum
    }

    /// The whole image, once (no augmentation).
    public static let wholeImage = RandomCrops(count: 0)

    /// The crops of `image`: `[image]` when ``count`` is 0, otherwise ``count`` random crops
    /// (``rectangles(width:height:using:)`` cut out of it).
    public func crops(of image: Image, using generator: inout some RandomNumberGenerator) -> [Image] {
        guard count > 0 else { return [image] }
        return rectangles(width: image.width, height: image.height, using: &generator).map {
            image.cropped(x: $0.x, y: $0.y, width: $0.width, height: $0.height)
        }
    }

    /// ``count`` random crops in all from a set of images, for each crop an image drawn uniformly
    /// (one draw `⌊u·n⌋`) then its side and position as in ``crops(of:using:)``; `[]` when
    /// `images` is empty or ``count`` is 0. Training sets of fixed-size crops pooled over photos
    /// use it.
    public func crops(from images: [Image], using generator: inout some RandomNumberGenerator) -> [Image] {
        rectangles(from: images.map { (width: $0.width, height: $0.height) }, using: &generator).map {
            images[$0.image].cropped(x: $0.rectangle.x, y: $0.rectangle.y, width: $0.rectangle.width, height: $0.rectangle.height)
        }
    }

    /// Where ``crops(of:using:)`` cuts a `width × height` image: the whole image once when
    /// ``count`` is 0, otherwise ``count`` rectangles, each drawn by ``rectangle(width:height:using:)``.
    /// For callers that crop something other than an ``Image`` (a tensor, a file decoded later).
    public func rectangles(width: Int, height: Int, using generator: inout some RandomNumberGenerator) -> [CropRectangle] {
        guard count > 0 else { return [CropRectangle(x: 0, y: 0, width: width, height: height)] }
        return (0..<count).map { _ in rectangle(width: width, height: height, using: &generator) }
    }

    /// Where ``crops(from:using:)`` cuts images of the given sizes: ``count`` pairs of an image
    /// index (drawn uniformly) and a rectangle in it.
    public func rectangles(from sizes: [(width: Int, height: Int)],
                           using generator: inout some RandomNumberGenerator) -> [(image: Int, rectangle: CropRectangle)] {
        guard !sizes.isEmpty else { return [] }
        return (0..<count).map { _ in
            let image = RandomCrops.uniform(below: sizes.count, using: &generator)
            return (image, rectangle(width: sizes[image].width, height: sizes[image].height, using: &generator))
        }
    }

    /// One crop of a `width × height` image: its side (drawn only with a side range), then its
    /// left and top, each uniform over the positions that keep it inside.
    public func rectangle(width: Int, height: Int, using generator: inout some RandomNumberGenerator) -> CropRectangle {
        var side = size
        if minimumSize < size {
            let largest = max(16, min(size, min(width, height) / 16 * 16))
            let smallest = min(minimumSize, largest)
            side = smallest + 16 * RandomCrops.uniform(below: (largest - smallest) / 16 + 1, using: &generator)
        }
        let cropWidth = min(side, width), cropHeight = min(side, height)
        let x = RandomCrops.uniform(below: width - cropWidth + 1, using: &generator)
        let y = RandomCrops.uniform(below: height - cropHeight + 1, using: &generator)
        return CropRectangle(x: x, y: y, width: cropWidth, height: cropHeight)
    }

    /// An integer uniform in `0..<bound` from one 53-bit draw.
    static func uniform(below bound: Int, using generator: inout some RandomNumberGenerator) -> Int {
        min(Int(generator.nextUnitDouble() * Double(bound)), bound - 1)
    }
}

/// Why a ``RandomCrops`` setting is invalid.
public enum RandomCropsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A value is out of range; the message names it.
    case invalid(String)

    /// The message.
    public var description: String {
        switch self {
        case let .invalid(message): return "invalid random crops: \(message)"
        }
    }
}
