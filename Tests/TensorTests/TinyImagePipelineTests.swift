import Testing
@testable import Tensor
import GrainTestSupport

/// `TinyImagePipeline` computes what its steps' tensor ops compute (the naive references), for
/// partial and several blocks, odd sizes, every clamp and the extractor's own stack shape; and it
/// refuses steps that do not fit.
@Suite struct TinyImagePipelineTests {
    /// The steps' naive references one after another.
    func reference(_ steps: [TinyImagePipeline.Step], _ x: Tensor) -> Tensor {
        var y = x
        for step in steps {
            switch step {
            case .channelFilters(let weight):
                let (n, c, h, w) = (y.shape[0], y.shape[1], y.shape[2], y.shape[3])
                let radius = weight.shape[2] / 2
                y = Tensor.referenceConv2d(y.reshaped([n * c, 1, h, w]), weight: weight, padding: (radius, radius))
                    .reshaped([n, c * weight.shape[0], h, w])
            case .convolution(let weight, let bias):
                y = Tensor.referenceConv2d(y, weight: weight, bias: bias, padding: (1, 1))
            case .layerNorm(let weight, let bias, let epsilon, let clamp):
                y = Tensor.referenceLayerNorm(y, normalizedShape: Array(y.shape[1...]), weight: weight, bias: bias, epsilon: epsilon)
                if let clamp { y = clamp == 0...Float.infinity ? y.relu() : y.hardtanh(min: clamp.lowerBound, max: clamp.upperBound) }
            case .averagePool:
                y = Tensor.referenceAvgPool2d(y, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1))
            }
        }
        return y
    }

    func convolution(_ input: Int, _ output: Int, seed: UInt64) -> TinyImagePipeline.Step {
        .convolution(weight: randomTensor([output, input, 3, 3], seed: seed) * (1 / Float(9 * input).squareRoot()),
                     bias: randomTensor([output], seed: seed + 1))
    }

    func norm(_ shape: [Int], seed: UInt64, clamp: ClosedRange<Float>?) -> TinyImagePipeline.Step {
        .layerNorm(weight: randomTensor(shape, seed: seed, lower: 0.5, upper: 1.5), bias: randomTensor(shape, seed: seed + 1),
                   epsilon: 1e-5, clamp: clamp)
    }

    @Test(arguments: [1, 16, 37])
    func theExtractorsStackShapeMatchesItsReferences(images: Int) throws {
        // A filter bank of 4 sparse 5×5 filters and 3×3 ones, conv → norm + Hardtanh, two 16×16
        // convs with ReLU, pooling to 8×8, a conv with an unclamped norm, pooling to 4×4 and 2×2,
        // a conv on 2×2.
        var bank = randomTensor([4, 1, 5, 5], seed: 3).scalars
        for i in bank.indices where i % 3 == 0 { bank[i] = 0 }
        let steps: [TinyImagePipeline.Step] = [
            .channelFilters(weight: Tensor(shape: [4, 1, 5, 5], scalars: bank)),
            convolution(12, 8, seed: 10), norm([8, 16, 16], seed: 12, clamp: -0.5...0.5),
            convolution(8, 8, seed: 14), norm([8, 16, 16], seed: 16, clamp: 0...Float.infinity),
            convolution(8, 8, seed: 18), norm([8, 16, 16], seed: 20, clamp: 0...Float.infinity),
            .averagePool,
            convolution(8, 8, seed: 22), norm([8, 8, 8], seed: 24, clamp: nil),
            .averagePool, .averagePool,
            convolution(8, 8, seed: 26), .layerNorm(weight: nil, bias: nil, epsilon: 1e-5, clamp: 0...Float.infinity),
        ]
        let pipeline = try #require(TinyImagePipeline(steps: steps, channels: 3, height: 16, width: 16))
        let x = randomTensor([images, 3, 16, 16], seed: 5)
        let fast = pipeline(x)
        expectClose(fast, reference(steps, x), rtol: 1e-4, atol: 2e-5, "pipeline of \(images) images, extractor's stack shape")
        #expect(fast.shape == [images, 8, 2, 2])
    }

    @Test(arguments: [(7, 9), (5, 5), (4, 3)])
    func oddSizesMatchTheirReferences(height: Int, width: Int) throws {
        // Odd sizes: Winograd's partial tiles, pooling windows reaching into the frame.
        let steps: [TinyImagePipeline.Step] = [
            .channelFilters(weight: randomTensor([2, 1, 3, 3], seed: 31)),
            convolution(4, 6, seed: 32), norm([6, height, width], seed: 34, clamp: 0...Float.infinity),
            .averagePool, .convolution(weight: randomTensor([5, 6, 3, 3], seed: 36), bias: nil),
        ]
        let x = randomTensor([19, 2, height, width], seed: 37)
        let pipeline = try #require(TinyImagePipeline(steps: steps, channels: 2, height: height, width: width))
        expectClose(pipeline(x), reference(steps, x), rtol: 1e-4, atol: 2e-5, "pipeline on \(height)×\(width)")
    }

    @Test func noImagesGiveAnEmptyResult() throws {
        let pipeline = try #require(TinyImagePipeline(steps: [.averagePool], channels: 2, height: 4, width: 4))
        #expect(pipeline(Tensor.zeros([0, 2, 4, 4])).shape == [0, 2, 2, 2])
    }

    @Test func stepsThatDoNotFitAreRefused() {
        #expect(TinyImagePipeline(steps: [], channels: 3, height: 16, width: 16) == nil)
        // The convolution expects 4 input channels, the images have 3.
        #expect(TinyImagePipeline(steps: [convolution(4, 4, seed: 1)], channels: 3, height: 16, width: 16) == nil)
        // An even filter side.
        #expect(TinyImagePipeline(steps: [.channelFilters(weight: Tensor.zeros([2, 1, 4, 4]))], channels: 3, height: 16, width: 16) == nil)
        // A layer norm's γ of the wrong shape.
        #expect(TinyImagePipeline(steps: [norm([3, 8, 8], seed: 1, clamp: nil)], channels: 3, height: 16, width: 16) == nil)
        // A 3×3 convolution on a 1×1 map.
        #expect(TinyImagePipeline(steps: [convolution(3, 3, seed: 1)], channels: 3, height: 1, width: 1) == nil)
    }
}
