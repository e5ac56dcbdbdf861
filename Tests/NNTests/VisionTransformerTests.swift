import Testing
import Tensor
import NN
import GrainTestSupport

@Suite struct VisionTransformerTests {
    @Test(arguments: [VisionTransformer.PatchEmbedding.linear, .convolution])
    func shapesKeysAndGradients(embedding: VisionTransformer.PatchEmbedding) {
        var generator = RandomGenerator(seed: 3)
        let configuration = VisionTransformer.Configuration(imageSize: 8, patchSize: 4, channels: 2, dimension: 8, depth: 1,
                                                            heads: 2, headDimension: 4, mlpRatio: 2, patchEmbedding: embedding,
                                                            classToken: true, positionEmbedding: true, classes: 3)
        let model = VisionTransformer(configuration, using: &generator)
        let keys = model.namedParameters().map(\.key)
        #expect(keys.contains("class_token") && keys.contains("position_embedding") && keys.contains("patch_embedding.weight"))
        #expect(keys.contains("transformer.layers.0.0.fn.to_qkv.weight") && keys.contains("head.weight"))
        let images = randomTensor([2, 2, 8, 8], seed: 4)
        #expect(model(images).shape == [2, 3])
        expectGradients("ViT (\(embedding)) input", [images], atol: 5e-3) { model($0[0]) }
    }

    @Test func linearAndConvolutionEmbeddingsAgreeWithEqualWeights() throws {
        var generator = RandomGenerator(seed: 5)
        var configuration = VisionTransformer.Configuration(imageSize: 8, patchSize: 4, channels: 2, dimension: 6, depth: 1,
                                                            heads: 2, headDimension: 3, classToken: false, positionEmbedding: false, classes: 0)
        let linear = VisionTransformer(configuration, using: &generator)
        configuration.patchEmbedding = .convolution
        let convolution = VisionTransformer(configuration, using: &generator)
        var state = linear.stateDictionary()
        state["patch_embedding.weight"] = state["patch_embedding.weight"]!.reshaped([6, 2, 4, 4])
        try convolution.load(state)
        let images = randomTensor([1, 2, 8, 8], seed: 6)
        expectClose(convolution(images), linear(images), rtol: 1e-5, atol: 1e-6, "conv stem vs linear patches")
    }
}
