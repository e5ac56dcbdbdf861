import NN
import Tensor
import Testing

/// The first code block of NN.docc, compiled and run (the Stable Diffusion one is in
/// StableDiffusionTests, which has the tiny diffusers folder).
@Suite struct NNDocumentationExampleTests {
    @Test func overviewExample() {
        let extractor = LowLevelFeatureExtractor()
        #expect(extractor.namedParameters().count == 69)  // 69, as in the authors' release
        let tokens = Tensor.zeros([1, 4, 3, 16, 16])  // one image, four 16×16 patches
        let feature = extractor.features(tokens)      // [1, 528]
        #expect(feature.shape == [1, 528])
    }
}
