import Testing
import Tensor
import NN
import GrainTestSupport

/// The extractor's per-patch stack as one pipeline of 16-patch blocks (inference) equals the
/// layer-by-layer path, with random weights (no shared data needed; ExtractorParityTests checks
/// the authors' weights), and the general path takes over when a layer has no pipeline step.
@Suite struct PatchBlockTests {
    @Test(arguments: [1, 16, 45])
    func randomWeightsGiveTheLayerByLayerDescriptors(patches count: Int) {
        let model = LowLevelFeatureExtractor()
        var generator = RandomGenerator(seed: 4)
        model.initializeParameters(using: &generator)
        #expect(model.patchBlockPipeline() != nil)
        let patches = randomTensor([count, 3, 16, 16], seed: 9)
        let blocks = Tensor.withoutGradient { model.patchDescriptors(patches) }
        let layers = ConvolutionAlgorithms.$patchBlocksEnabled.withValue(false) {
            Tensor.withoutGradient { model.patchDescriptors(patches) }
        }
        let scale = layers.scalars.reduce(Float(0)) { max($0, abs($1)) }
        expectClose(blocks, layers, rtol: 1e-4, atol: 1e-5 * scale, "patch blocks vs layer by layer, \(count) random-weight patches")
    }

    @Test func winogradOffRunsLayerByLayer() {
        // The pipeline's convolutions are Winograd's: with Winograd switched off the general
        // path runs (its direct kernels), and the features still agree.
        let model = LowLevelFeatureExtractor()
        var generator = RandomGenerator(seed: 5)
        model.initializeParameters(using: &generator)
        let patches = randomTensor([20, 3, 16, 16], seed: 10)
        let blocks = Tensor.withoutGradient { model.patchDescriptors(patches) }
        let direct = ConvolutionAlgorithms.$winogradEnabled.withValue(false) {
            Tensor.withoutGradient { model.patchDescriptors(patches) }
        }
        let scale = direct.scalars.reduce(Float(0)) { max($0, abs($1)) }
        expectClose(blocks, direct, rtol: 1e-4, atol: 1e-5 * scale, "patch blocks vs direct kernels")
    }
}
