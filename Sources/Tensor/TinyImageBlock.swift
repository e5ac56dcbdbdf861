// Many tiny images (the extractor's 16×16 patches and the maps pooled from them) held 16 at a time
// with the image as the fastest index, so that one pixel of the 16 images is one `SIMD16<Float>`
// and per-image work (a convolution's transforms, a layer norm, a pooling window) is whole-vector
// arithmetic. Tensor+Winograd+TinyImages.swift convolves such blocks; TinyImagePipeline.swift
// chains several per-image operations on them without leaving the layout.

/// The layout of a block of up to ``lanes`` images of `channels × height × width` with a zero
/// frame: float `((c·rows + top + y)·columns + left + x)·16 + lane` is pixel `(y, x)` of channel
/// `c` of image `lane`; every other float of the block is zero (or, past the images in a partial
/// block, ignored). A layout holds no storage; the block is a caller's buffer of ``floats`` floats.
package struct TinyImageBlock: Sendable, Equatable {
    /// Images per block: one `SIMD16<Float>` per pixel.
    package static let lanes = 16

    /// Channels of each image.
    package let channels: Int
    /// Image height.
    package let height: Int
    /// Image width.
    package let width: Int
    /// Zero rows above each image.
    package let top: Int
    /// Zero columns left of each image.
    package let left: Int
    /// Rows of the framed image (`≥ top + height`).
    package let rows: Int
    /// Columns of the framed image (`≥ left + width`).
    package let columns: Int

    /// A layout with a frame of `border` zeros on every side.
    package init(channels: Int, height: Int, width: Int, border: Int) {
        self.init(channels: channels, height: height, width: width, top: border, left: border,
                  rows: height &+ 2 &* border, columns: width &+ 2 &* border)
    }

    /// A layout with the given frame.
    package init(channels: Int, height: Int, width: Int, top: Int, left: Int, rows: Int, columns: Int) {
        precondition(channels > 0 && height > 0 && width > 0 && top >= 0 && left >= 0
                     && rows >= top &+ height && columns >= left &+ width, "TinyImageBlock: invalid layout")
        self.channels = channels
        self.height = height
        self.width = width
        self.top = top
        self.left = left
        self.rows = rows
        self.columns = columns
    }

    /// Floats of a block.
    package var floats: Int { channels &* rows &* columns &* Self.lanes }

    /// Floats from one framed row to the next.
    package var rowStride: Int { columns &* Self.lanes }

    /// Floats from one channel to the next.
    package var channelStride: Int { rows &* columns &* Self.lanes }

    /// The offset of pixel `(y, x)` of channel `c`, lane 0 (`y`, `x` may reach into the frame).
    @inline(__always)
    package func offset(_ c: Int, _ y: Int, _ x: Int) -> Int {
        ((c &* rows &+ top &+ y) &* columns &+ left &+ x) &* Self.lanes
    }

    /// Copies images `first..<first + count` (`count ≤ 16`) of `images` (`[N, channels, height,
    /// width]`) into the image positions of `block`; the frame is left as it is (zero).
    package func load(_ images: UnsafePointer<Float>, first: Int, count: Int, into block: UnsafeMutablePointer<Float>) {
        let plane = height &* width, imageFloats = channels &* plane
        for c in 0..<channels {
            for y in 0..<height {
                let row = block + offset(c, y, 0)
                for lane in 0..<count {
                    let sourceOffset: Int = (first &+ lane) &* imageFloats &+ c &* plane &+ y &* width
                    let source = images + sourceOffset
                    var target = row + lane
                    for x in 0..<width {
                        target.pointee = source[x]
                        target += Self.lanes
                    }
                }
            }
        }
    }

    /// Copies the image positions of `block`'s first `count` lanes out to images
    /// `first..<first + count` of `images` (`[N, channels, height, width]`).
    package func store(_ block: UnsafePointer<Float>, count: Int, into images: UnsafeMutablePointer<Float>, first: Int) {
        let plane = height &* width, imageFloats = channels &* plane
        for c in 0..<channels {
            for y in 0..<height {
                let row = block + offset(c, y, 0)
                for lane in 0..<count {
                    let targetOffset: Int = (first &+ lane) &* imageFloats &+ c &* plane &+ y &* width
                    let target = images + targetOffset
                    var source = row + lane
                    for x in 0..<width {
                        target[x] = source.pointee
                        source += Self.lanes
                    }
                }
            }
        }
    }

    /// A zeroed buffer for one block of this layout (the caller deallocates it).
    package func allocateZeroed() -> UnsafeMutablePointer<Float> {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: floats)
        buffer.initialize(repeating: 0, count: floats)
        return buffer
    }
}
