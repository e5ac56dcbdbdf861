import Testing
import Tensor
import GrainTestSupport
import NN

/// Parameter keys, strict loading and the exactness of the token-0 shortcut.
@Suite struct ModuleTests {
    @Test func extractorKeysAndSizeMatchTheRelease() {
        let model = LowLevelFeatureExtractor()
        let keys = model.namedParameters().map(\.key)
        #expect(keys.count == 69)
        #expect(model.parameterCount == 762_821)
        for key in ["group1.hpf.weight", "group1_b.1.weight", "group2.10.bias", "group2.9.weight", "group5.4.weight",
                    "transformer.layers.0.0.fn.to_qkv.weight", "transformer.layers.1.1.fn.net.3.bias",
                    "transformer.layers.0.0.fn.to_out.0.weight", "transformer.layers.1.0.norm.bias", "fc.weight"] {
            #expect(keys.contains(key), "missing \(key)")
        }
        #expect(Set(keys).count == keys.count)
    }

    @Test func strictLoadingNamesTheKey() throws {
        var generator = RandomGenerator(seed: 1)
        let layer = Linear(inputSize: 3, outputSize: 2, using: &generator)
        let good = ["weight": Tensor.ones([2, 3]), "bias": Tensor.zeros([2])]
        try layer.load(good)
        #expect(layer.weight.value.scalars == [1, 1, 1, 1, 1, 1])
        #expect(throws: ModuleLoadingError.missingKey("bias")) { try layer.load(["weight": Tensor.ones([2, 3])]) }
        #expect(throws: ModuleLoadingError.unexpectedKey("extra")) { try layer.load(good.merging(["extra": Tensor.ones([1])]) { a, _ in a }) }
        #expect(throws: ModuleLoadingError.shapeMismatch(key: "weight", expected: [2, 3], actual: [3, 2])) {
            try layer.load(["weight": Tensor.ones([3, 2]), "bias": Tensor.zeros([2])])
        }
        // A failed load assigns nothing.
        #expect(layer.weight.value.scalars == [1, 1, 1, 1, 1, 1])
        try layer.load(["weight": Tensor.zeros([2, 3])], strict: false)
        #expect(layer.weight.value.scalars == [0, 0, 0, 0, 0, 0])
    }

    @Test func tokenZeroShortcutEqualsFullComputation() throws {
        let model = LowLevelFeatureExtractor()
        var generator = RandomGenerator(seed: 5)
        var random: [String: Tensor] = [:]
        for (key, parameter) in model.namedParameters() where key != "group1.hpf.weight" {
            random[key] = Tensor.randomNormal(parameter.shape, standardDeviation: 0.05, using: &generator)
        }
        random["group1.hpf.weight"] = SRMFilters.weight()
        try model.load(random)
        let tokens = Tensor.randomUniform([2, 5, 3, 16, 16], lower: -2, upper: 2, using: &generator)
        let shortcut = model.features(tokens)
        let full = Tensor.withoutGradient { model.allTokens(tokens) }.sliced(axis: 1, start: 0, end: 1).reshaped([2, 528])
        expectClose(shortcut, full, rtol: 1e-5, atol: 1e-6, "token-0 shortcut vs full transformer")
    }

    @Test func attentionAndTransformerGradients() throws {
        var generator = RandomGenerator(seed: 9)
        let attention = Attention(dimension: 6, heads: 2, headDimension: 3, fusedProjection: true)
        var weights: [String: Tensor] = [:]
        for (key, p) in attention.namedParameters() { weights[key] = Tensor.randomNormal(p.shape, standardDeviation: 0.5, using: &generator) }
        try attention.load(weights)
        let x = Tensor.randomNormal([1, 4, 6], using: &generator)
        expectGradients("attention (input)", [x]) { attention($0[0]) }
    }
}
