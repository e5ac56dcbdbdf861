import Imaging
import Tensor

/// Photographs held in memory as `[3, H, W]` tensors in `[0, 1]`, from which a trainer draws
/// seeded random square crops.
///
/// A batch depends only on the generator passed in, so a trainer that seeds one generator per
/// step draws the same crops whether or not the run was interrupted.
public struct TrainingCrops: @unchecked Sendable {
    /// The photographs, each `[3, H, W]` in `[0, 1]` (as `Tensor(image)`).
    public let images: [Tensor]

    /// Wraps photographs `[3, H, W]` in `[0, 1]`.
    ///
    /// - Precondition: at least one image, each of rank 3 with 3 channels.
    public init(images: [Tensor]) {
        precondition(!images.isEmpty, "TrainingCrops: no images")
        for image in images {
            precondition(image.rank == 3 && image.shape[0] == 3, "TrainingCrops: image \(image.shape) is not [3, H, W]")
        }
        self.images = images
    }

    /// The smallest side over all images: crops may be at most this large.
    public var smallestSide: Int { images.map { min($0.shape[1], $0.shape[2]) }.min()! }

    /// `count` random crops `[count, 3, size, size]` mapped to `[-1, 1]` (`2x − 1`): for each
    /// crop, an image uniformly, then a top-left corner uniformly, as Imaging's `RandomCrops`
    /// draws them (`RandomCrops.rectangles(from:using:)`).
    ///
    /// - Precondition: `size` ≤ ``smallestSide``, `count ≥ 1`.
    public func batch<G: RandomNumberGenerator>(count: Int, size: Int, using generator: inout G) -> Tensor {
        precondition(count >= 1 && size >= 1 && size <= smallestSide,
                     "TrainingCrops.batch: \(count) crops of \(size)² from images whose smallest side is \(smallestSide)")
        var out = Tensor(uninitializedShape: [count, 3, size, size])
        let plane = size &* size
        out.withUnsafeMutableBufferPointer { destination in
            let destinationBase = destination.baseAddress!
            let sampler = RandomCrops(uncheckedCount: count, sizes: size...size)
            let drawn = sampler.rectangles(from: images.map { (width: $0.shape[2], height: $0.shape[1]) }, using: &generator)
            for (n, crop) in drawn.enumerated() {
                let image = images[crop.image]
                let height = image.shape[1], width = image.shape[2]
                let top = crop.rectangle.y, left = crop.rectangle.x
                image.withUnsafeBufferPointer { source in
                    let sourceBase = source.baseAddress!
                    for c in 0..<3 {
                        for y in 0..<size {
                            let sourceRow: Int = (c &* height &+ top &+ y) &* width &+ left
                            let targetRow: Int = (n &* 3 &+ c) &* plane &+ y &* size
                            let row = sourceBase + sourceRow
                            let target = destinationBase + targetRow
                            for x in 0..<size { target[x] = row[x] * 2 - 1 }
                        }
                    }
                }
            }
        }
        return out
    }
}
