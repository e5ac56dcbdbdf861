import Testing
@testable import Tensor
import GrainTestSupport

/// Which kernel `ConvolutionDispatch` picks for the shapes each path exists for, and that the
/// convolution each path computes matches the naive reference. A moved threshold changes a
/// pick here before it changes a speed.
@Suite struct ConvolutionDispatchTests {
    /// The geometry of `conv2d(input, weight)` with `padding` and `stride` on both axes.
    func geometry(_ input: [Int], _ weight: [Int], padding: Int = 0, stride: Int = 1, groups: Int = 1) -> ConvolutionGeometry {
        let (n, c, h, w) = (input[0], input[1], input[2], input[3])
        let (o, kH, kW) = (weight[0], weight[2], weight[3])
        return ConvolutionGeometry(
            batch: n, inputChannels: c, inputHeight: h, inputWidth: w, outputChannels: o,
            outputHeight: ConvolutionGeometry.outputSize(h, kernel: kH, stride: stride, padding: padding, dilation: 1),
            outputWidth: ConvolutionGeometry.outputSize(w, kernel: kW, stride: stride, padding: padding, dilation: 1),
            kernelHeight: kH, kernelWidth: kW, strideY: stride, strideX: stride, paddingY: padding, paddingX: padding,
            dilationY: 1, dilationX: 1, groups: groups)
    }

    @Test func picksThePathEachShapeIsFor() {
        // The extractor's 32-channel 16×16 patches: Winograd in blocks of patches at inference,
        // shifted windows when a gradient is recorded (and when Winograd is switched off).
        let patches = geometry([1024, 32, 16, 16], [32, 32, 3, 3], padding: 1)
        #expect(ConvolutionDispatch.forwardPath(patches, inference: true) == .winogradBlocks)
        #expect(ConvolutionDispatch.forwardPath(patches) == .shiftedWindows)
        #expect(ConvolutionAlgorithms.$winogradEnabled.withValue(false) {
            ConvolutionDispatch.forwardPath(patches, inference: true)
        } == .shiftedWindows)
        // Its 90 → 32 stem and the pooled 2×2 maps too; a 64-channel 32×32 image is not tiny
        // (16 · 128 · 256 floats of tiles exceed the block budget).
        #expect(ConvolutionDispatch.forwardPath(geometry([128, 90, 16, 16], [32, 90, 3, 3], padding: 1), inference: true) == .winogradBlocks)
        #expect(ConvolutionDispatch.forwardPath(geometry([128, 32, 2, 2], [32, 32, 3, 3], padding: 1), inference: true) == .winogradBlocks)
        #expect(ConvolutionDispatch.forwardPath(geometry([8, 64, 32, 32], [64, 64, 3, 3], padding: 1), inference: true)
                == .shiftedWindows)
        // Few channels (an RGB stem): batched im2col, the whole batch in one block.
        #expect(ConvolutionDispatch.forwardPath(geometry([8, 3, 32, 32], [16, 3, 3, 3], padding: 1)) == .batched(imagesPerBlock: 8))
        // Small images at stride 2: batched im2col (shifted windows need stride 1).
        #expect(ConvolutionDispatch.forwardPath(geometry([4, 32, 16, 16], [32, 32, 3, 3], padding: 1, stride: 2))
                == .batched(imagesPerBlock: 4))
        // One input channel per group: direct loops.
        #expect(ConvolutionDispatch.forwardPath(geometry([2, 8, 16, 16], [8, 1, 3, 3], padding: 1, groups: 8)) == .depthwise)
        // A large 3×3 convolution of the U-Net: Winograd, or im2col when it is switched off.
        let large = geometry([1, 128, 32, 32], [128, 128, 3, 3], padding: 1)
        #expect(ConvolutionDispatch.forwardPath(large) == .winograd)
        #expect(ConvolutionAlgorithms.$winogradEnabled.withValue(false) { ConvolutionDispatch.forwardPath(large) } == .im2col)
        // Pointwise, one image, or an output plane of 64×64 = smallImageOutputPlane: im2col.
        #expect(ConvolutionDispatch.forwardPath(geometry([4, 32, 16, 16], [32, 32, 1, 1])) == .im2col)
        #expect(ConvolutionDispatch.forwardPath(geometry([1, 32, 16, 16], [32, 32, 3, 3], padding: 1)) == .im2col)
        #expect(ConvolutionDispatch.forwardPath(geometry([2, 4, 64, 64], [4, 4, 3, 3], padding: 1)) == .im2col)
        // The backward blocks small ungrouped images only, 3 patches of 288 × 256 column floats
        // within the 2¹⁸-float backward budget.
        #expect(ConvolutionDispatch.backwardImagesPerBlock(geometry([1024, 32, 16, 16], [32, 32, 3, 3], padding: 1)) == 3)
        #expect(ConvolutionDispatch.backwardImagesPerBlock(geometry([4, 8, 16, 16], [8, 4, 3, 3], padding: 1, groups: 2)) == 1)
        #expect(ConvolutionDispatch.backwardImagesPerBlock(geometry([2, 4, 64, 64], [4, 4, 3, 3], padding: 1)) == 1)
    }

    /// The inference forward of tiny images (Winograd in blocks of whole images, one block per
    /// worker) against the naive reference and against the recorded forward (shifted windows):
    /// odd and even sizes, paddings 0–2, batches that do not divide into the blocks, down to
    /// 2×2 outputs.
    @Test(arguments: [
        ([1024, 32, 16, 16], 32, 1), ([37, 90, 16, 16], 32, 1), ([9, 16, 9, 9], 24, 1), ([5, 32, 7, 8], 16, 0),
        ([6, 16, 10, 11], 16, 2), ([13, 32, 2, 2], 32, 1),
    ])
    func tinyImageWinogradMatchesTheReference(input: [Int], outputChannels: Int, padding: Int) {
        let g = geometry(input, [outputChannels, input[1], 3, 3], padding: padding)
        #expect(ConvolutionDispatch.forwardPath(g, inference: true) == .winogradBlocks)
        let x = randomTensor(input, seed: 21)
        let w = randomTensor([outputChannels, input[1], 3, 3], seed: 22) * (1 / Float(input[1] * 9).squareRoot())
        let b = randomTensor([outputChannels], seed: 23)
        let fast = Tensor.withoutGradient { Tensor.conv2d(x, weight: w, bias: b, padding: padding) }
        let recorded = Tensor.conv2d(x, weight: w.requiringGradient(), bias: b, padding: padding)
        let naive = Tensor.referenceConv2d(x, weight: w, bias: b, stride: (1, 1), padding: (padding, padding), groups: 1)
        expectClose(fast, naive, rtol: 1e-5, atol: 2e-6, "tiny-image Winograd blocks for x\(input) → \(outputChannels), padding \(padding)")
        expectClose(recorded, naive, rtol: 1e-5, atol: 2e-6, "recorded (shifted-window) forward for x\(input)")
        #expect(fast.shape == naive.shape)
    }

    @Test(arguments: [
        ([6, 16, 9, 9], [8, 16, 3, 3], 1, 1, 1),   // shifted windows
        ([3, 3, 9, 9], [4, 3, 3, 3], 1, 1, 1),     // batched
        ([3, 4, 9, 9], [6, 2, 3, 3], 1, 2, 2),     // batched, grouped and strided
        ([2, 4, 9, 9], [8, 1, 3, 3], 1, 1, 4),     // depthwise, channel multiplier 2
        ([2, 5, 9, 9], [3, 5, 1, 1], 0, 1, 1),     // pointwise im2col
        ([1, 4, 9, 9], [3, 4, 3, 3], 1, 1, 1),     // im2col
    ])
    func everyPathMatchesTheReference(input: [Int], weight: [Int], padding: Int, stride: Int, groups: Int) {
        let x = randomTensor(input, seed: 11), w = randomTensor(weight, seed: 12), b = randomTensor([weight[0]], seed: 13)
        let path = ConvolutionDispatch.forwardPath(geometry(input, weight, padding: padding, stride: stride, groups: groups))
        let fast = Tensor.conv2d(x, weight: w, bias: b, stride: stride, padding: padding, groups: groups)
        let naive = Tensor.referenceConv2d(x, weight: w, bias: b, stride: (stride, stride), padding: (padding, padding),
                                           groups: groups)
        expectClose(fast, naive, rtol: 1e-5, atol: 1e-5, "\(path) for x\(input) w\(weight)")
    }
}
