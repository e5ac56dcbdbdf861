// The sizes of one 2-D convolution, shared by every convolution kernel (Tensor+Convolution*.swift,
// Tensor+Winograd.swift) and by the dispatch that picks among them (ConvolutionDispatch.swift).

/// The sizes of a 2-D convolution from `[batch, inputChannels, inputHeight, inputWidth]` to
/// `[batch, outputChannels, outputHeight, outputWidth]` with an
/// `[outputChannels, inputChannels / groups, kernelHeight, kernelWidth]` weight.
struct ConvolutionGeometry {
    let batch: Int
    let inputChannels: Int, inputHeight: Int, inputWidth: Int
    let outputChannels: Int, outputHeight: Int, outputWidth: Int
    let kernelHeight: Int, kernelWidth: Int
    let strideY: Int, strideX: Int
    let paddingY: Int, paddingX: Int
    let dilationY: Int, dilationX: Int
    let groups: Int

    /// Input channels per group (`C / groups`).
    var groupInputChannels: Int { inputChannels / groups }
    /// Output channels per group (`O / groups`).
    var groupOutputChannels: Int { outputChannels / groups }
    /// Rows of the column matrix of one group: `C / groups · kH · kW`.
    var patchSize: Int { groupInputChannels &* kernelHeight &* kernelWidth }
    var inputPlane: Int { inputHeight &* inputWidth }
    var outputPlane: Int { outputHeight &* outputWidth }
    /// A 1×1, stride-1, unpadded convolution: the input planes are the column matrix.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideY == 1 && strideX == 1 && paddingY == 0 && paddingX == 0
    }
    /// One input channel per group (and more than one group): computed with direct loops.
    var isDepthwise: Bool { groups > 1 && groups == inputChannels }

    /// The output extent of a convolution along one axis, as PyTorch's `conv2d`.
    static func outputSize(_ input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
        (input + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }

    /// The output positions `lo..<hi` (of `count`) whose input coordinate `o · stride + offset`
    /// falls inside `0..<size`.
    @inline(__always)
    static func validRange(offset: Int, stride: Int, size: Int, count: Int) -> (Int, Int) {
        let lo = offset >= 0 ? 0 : (stride - offset - 1) / stride
        let last = size - 1 - offset
        let hi = last < 0 ? 0 : Swift.min(count, last / stride + 1)
        return (Swift.min(lo, hi), hi)
    }
}
