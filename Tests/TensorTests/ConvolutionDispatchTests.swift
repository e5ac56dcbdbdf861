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
        // The extractor's 32-channel 16×16 patches: shifted windows.
        #expect(ConvolutionDispatch.forwardPath(geometry([1024, 32, 16, 16], [32, 32, 3, 3], padding: 1)) == .shiftedWindows)
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
