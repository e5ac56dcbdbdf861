import Tensor

/// Converting decoded images to tensors.
extension Tensor {
    /// The image as a float tensor `[C, H, W]` scaled to [0, 1] (sample / 255), as torchvision's
    /// `ToTensor()` applied to the same Pillow image.
    public init(_ image: Image) {
        let channels = image.channels, height = image.height, width = image.width
        let plane = height * width
        self.init(uninitializedShape: [channels, height, width])
        withUnsafeMutableBufferPointer { out in
            image.withUnsafeBufferPointer { source in
                let outBase = out.baseAddress!, sourceBase = source.baseAddress!
                Parallel.forRanges(plane, minimumChunk: 1 << 16) { start, end in
                    for c in 0..<channels {
                        let outPlane = outBase + c * plane
                        for p in start..<end {
                            // Division, not multiplication by 1/255, so values equal torch's exactly.
                            outPlane[p] = Float(sourceBase[p &* channels &+ c]) / 255
                        }
                    }
                }
            }
        }
    }
}

extension Image {
    /// The image as a float tensor `[C, H, W]` in [0, 1]; see `Tensor.init(_:)`.
    public func tensor() -> Tensor { Tensor(self) }

    /// An 8-bit image from a tensor `[C, H, W]` (C in 1...4) of values in [0, 1]: each sample is
    /// `value × 255` rounded half to even (as `torch.round`) and clamped to 0...255; NaN gives 0.
    ///
    /// - Precondition: the tensor has rank 3, 1 to 4 channels and a non-empty plane.
    public init(_ tensor: Tensor) {
        precondition(tensor.rank == 3 && (1...4).contains(tensor.shape[0]) && tensor.shape[1] >= 1 && tensor.shape[2] >= 1,
                     "Image(_ tensor:): expected a [C, H, W] tensor with C in 1...4, got shape \(tensor.shape)")
        let channels = tensor.shape[0], height = tensor.shape[1], width = tensor.shape[2]
        let plane = height * width
        self = tensor.withUnsafeBufferPointer { source in
            Image(width: width, height: height, channels: channels) { out in
                let outBase = out.baseAddress!, sourceBase = source.baseAddress!
                Parallel.forRanges(plane, minimumChunk: 1 << 16) { start, end in
                    for c in 0..<channels {
                        let sourcePlane = sourceBase + c * plane
                        for p in start..<end {
                            let scaled = (sourcePlane[p] * 255).rounded(.toNearestOrEven)
                            let byte: UInt8 = scaled >= 255 ? 255 : (scaled >= 0 ? UInt8(scaled) : 0)
                            outBase[p &* channels &+ c] = byte
                        }
                    }
                }
            }
        }
    }
}
