import Testing
@testable import Tensor
import GrainTestSupport

/// Winograd F(2×2, 3×3) against the im2col kernel (itself checked against the naive reference
/// and PyTorch): odd sizes, paddings 0–2, with and without bias, batches.
@Suite struct WinogradTests {
    func geometry(_ input: [Int], outputChannels: Int, padding: Int) -> ConvolutionGeometry {
        let (n, c, h, w) = (input[0], input[1], input[2], input[3])
        return ConvolutionGeometry(batch: n, inputChannels: c, inputHeight: h, inputWidth: w, outputChannels: outputChannels,
                                   outputHeight: h + 2 * padding - 2, outputWidth: w + 2 * padding - 2,
                                   kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 1, paddingY: padding,
                                   paddingX: padding, dilationY: 1, dilationX: 1, groups: 1)
    }

    @Test(arguments: [
        ([1, 128, 32, 32], 128, 1, true), ([1, 128, 33, 35], 144, 1, true), ([2, 128, 64, 65], 128, 1, true), ([1, 130, 34, 34], 128, 0, false),
        ([1, 128, 30, 31], 128, 2, true),
    ])
    func matchesTheIm2colKernel(shape: [Int], outputChannels: Int, padding: Int, bias: Bool) {
        #expect(ConvolutionDispatch.usesWinograd(geometry(shape, outputChannels: outputChannels, padding: padding)))
        let x = randomTensor(shape, seed: 1)
        let w = randomTensor([outputChannels, shape[1], 3, 3], seed: 2) * (1 / Float(shape[1] * 9).squareRoot())
        let b = bias ? randomTensor([outputChannels], seed: 3) : nil
        let fast = Tensor.conv2d(x, weight: w, bias: b, padding: padding)
        let direct = ConvolutionAlgorithms.$winogradEnabled.withValue(false) { Tensor.conv2d(x, weight: w, bias: b, padding: padding) }
        expectClose(fast, direct, rtol: 1e-5, atol: 2e-6, "winograd \(shape) → \(outputChannels), padding \(padding)")
    }

    @Test func isNotUsedWhereItDoesNotPay() {
        #expect(!ConvolutionDispatch.usesWinograd(geometry([1, 64, 64, 64], outputChannels: 64, padding: 1)))   // few channels
        #expect(!ConvolutionDispatch.usesWinograd(geometry([1, 640, 16, 16], outputChannels: 640, padding: 1))) // small image
        #expect(!ConvolutionAlgorithms.$winogradEnabled.withValue(false) {
            ConvolutionDispatch.usesWinograd(geometry([1, 128, 32, 32], outputChannels: 128, padding: 1))
        })
    }
}
