import Foundation
import Testing
import Tensor
import NN
import GrainTestSupport

/// Gives every parameter of `module` reproducible values: norm scales near 1, everything else
/// uniform in ±0.5.
func randomize(_ module: Module, seed: UInt64) {
    for (index, (key, parameter)) in module.namedParameters().enumerated() {
        let noise = randomTensor(parameter.shape, seed: seed &+ UInt64(index), lower: -0.5, upper: 0.5)
        let isNormScale = key.hasSuffix("weight") && (key.contains("norm") || key.contains("layer_norm"))
        parameter.assign(isNormScale ? noise * 0.4 + 1 : noise)
    }
}

/// Central finite differences on a few elements of every parameter of `module` (first, middle,
/// last), against the gradients of one backward pass of `Σ forward() ⊙ W`.
func expectParameterGradients(_ label: String, _ module: Module, epsilon: Float = 1e-2, rtol: Float = 3e-2,
                              atol: Float = 3e-3, sourceLocation: SourceLocation = #_sourceLocation,
                              _ forward: () -> Tensor) {
    for (_, parameter) in module.namedParameters() { parameter.value.zeroGradient() }
    let probe = forward()
    let weights = randomTensor(probe.shape, seed: 99, lower: 0.5, upper: 1.5)
    (probe * weights).sum().backward()
    func objective() -> Double {
        Tensor.withoutGradient {
            zip(forward().scalars, weights.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
    }
    var worst: Float = 0, checked = 0
    for (key, parameter) in module.namedParameters() {
        guard let gradient = parameter.gradient?.scalars else {
            Issue.record("\(label): no gradient reached \(key)", sourceLocation: sourceLocation)
            continue
        }
        let original = parameter.value.detached()
        for element in Set([0, original.count / 2, original.count - 1]) {
            var plus = original.detached(), minus = original.detached()
            plus.withUnsafeMutableBufferPointer { $0[element] += epsilon }
            minus.withUnsafeMutableBufferPointer { $0[element] -= epsilon }
            parameter.assign(plus)
            let up = objective()
            parameter.assign(minus)
            let down = objective()
            parameter.assign(original)
            let numeric = Float((up - down) / Double(2 * epsilon))
            let error = abs(numeric - gradient[element])
            worst = max(worst, error / max(abs(numeric), 1e-3))
            checked += 1
            #expect(error <= atol + rtol * abs(numeric),
                    "\(label): \(key)[\(element)] analytic \(gradient[element]) vs numeric \(numeric)",
                    sourceLocation: sourceLocation)
        }
    }
    print("[gradient] \(label) parameters: \(checked) elements, worst relative error \(worst)")
}

/// Finite-difference gradient checks of the Stable Diffusion blocks on tiny configurations, with
/// respect to their inputs and (sampled) parameters.
@Suite("Stable Diffusion blocks are differentiable")
struct GradientTests {
    @Test func timestepEmbeddingMLP() {
        let mlp = TimestepEmbedding(inputChannels: 4, timeEmbeddingDimension: 6)
        randomize(mlp, seed: 1)
        let features = TimestepEmbedding.sinusoidal([3, 700], dimension: 4, flipSinToCos: true, downscaleFrequencyShift: 0)
        expectGradients("TimestepEmbedding", [features]) { mlp($0[0]) }
        expectParameterGradients("TimestepEmbedding", mlp) { mlp(features) }
    }

    @Test func sinusoidalFeaturesFollowDiffusers() {
        // get_timestep_embedding(torch.tensor([0, 1, 981]), 6, flip_sin_to_cos=True, downscale_freq_shift=0):
        // frequencies exp(-ln(10000)·i/3) = 1, 0.0464159, 0.00215443; cosines first.
        let features = TimestepEmbedding.sinusoidal([0, 1, 981], dimension: 6, flipSinToCos: true, downscaleFrequencyShift: 0)
        let f: [Float] = [1, 0.046415888, 0.0021544347]
        var expected: [Float] = []
        for t: Float in [0, 1, 981] {
            expected += f.map { Foundation.cos(t * $0) } + f.map { Foundation.sin(t * $0) }
        }
        expectClose(features, Tensor(shape: [3, 6], scalars: expected), rtol: 1e-5, atol: 1e-5, "sinusoidal")
        let unflipped = TimestepEmbedding.sinusoidal([1], dimension: 5, flipSinToCos: false, downscaleFrequencyShift: 1)
        #expect(unflipped.shape == [1, 5])
        #expect(unflipped.scalars[4] == 0)  // odd width: zero-padded
        #expect(abs(unflipped.scalars[0] - Foundation.sin(1)) < 1e-6)  // shift 1: f₀ = 1, sines first
    }

    @Test func resnetBlockWithTimeEmbeddingAndShortcut() {
        let block = ResnetBlock2D(inputChannels: 4, outputChannels: 6, timeEmbeddingChannels: 5, groups: 2, epsilon: 1e-5)
        randomize(block, seed: 2)
        let x = randomTensor([2, 4, 3, 3], seed: 3), t = randomTensor([2, 5], seed: 4)
        expectGradients("ResnetBlock2D", [x, t]) { block($0[0], timeEmbedding: $0[1]) }
        expectParameterGradients("ResnetBlock2D", block) { block(x, timeEmbedding: t) }
    }

    @Test func resnetBlockWithoutTimeEmbedding() {
        let block = ResnetBlock2D(inputChannels: 4, outputChannels: 4, timeEmbeddingChannels: nil, groups: 2,
                                  epsilon: 1e-6, outputScaleFactor: 2)
        randomize(block, seed: 5)
        let x = randomTensor([1, 4, 3, 2], seed: 6)
        expectGradients("ResnetBlock2D (VAE)", [x]) { block($0[0]) }
    }

    @Test func transformer2DModelWithCrossAttention() {
        for linear in [false, true] {
            let model = Transformer2DModel(channels: 4, heads: 2, headDimension: 2, contextDimension: 3, groups: 2,
                                           useLinearProjection: linear)
            randomize(model, seed: 7)
            let x = randomTensor([1, 4, 2, 3], seed: 8), context = randomTensor([1, 3, 3], seed: 9)
            expectGradients("Transformer2DModel linear=\(linear)", [x, context]) { model($0[0], context: $0[1]) }
            expectParameterGradients("Transformer2DModel linear=\(linear)", model) { model(x, context: context) }
        }
    }

    @Test func basicTransformerBlockAndGEGLU() {
        let block = BasicTransformerBlock(dimension: 4, heads: 2, headDimension: 2, contextDimension: 3)
        randomize(block, seed: 10)
        let x = randomTensor([2, 3, 4], seed: 11), context = randomTensor([2, 2, 3], seed: 12)
        expectGradients("BasicTransformerBlock", [x, context]) { block($0[0], context: $0[1]) }
        let geglu = GEGLU(dimension: 4, hiddenDimension: 3)
        randomize(geglu, seed: 13)
        expectGradients("GEGLU", [x]) { geglu($0[0]) }
    }

    @Test func vaeAttention() {
        let attention = SpatialSelfAttention(channels: 4, groups: 2, epsilon: 1e-6)
        randomize(attention, seed: 14)
        let x = randomTensor([1, 4, 2, 3], seed: 15)
        expectGradients("SpatialSelfAttention", [x]) { attention($0[0]) }
        expectParameterGradients("SpatialSelfAttention", attention) { attention(x) }
    }

    @Test func clipEncoderLayer() throws {
        var configuration = CLIPTextConfiguration()
        (configuration.hiddenSize, configuration.intermediateSize, configuration.attentionHeadCount) = (4, 6, 2)
        let layer = CLIPEncoderLayer(configuration: configuration)
        randomize(layer, seed: 16)
        let x = randomTensor([1, 3, 4], seed: 17)
        expectGradients("CLIPEncoderLayer", [x]) { layer($0[0]) }
        expectParameterGradients("CLIPEncoderLayer", layer) { layer(x) }
    }

    @Test func tinyUNetEndToEnd() throws {
        var configuration = UNet2DConditionConfiguration()
        configuration.blockOutChannels = [4, 8]
        configuration.downBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"]
        configuration.upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D"]
        configuration.layersPerBlock = 1
        configuration.normNumGroups = 2
        configuration.attentionHeadDimension = .shared(2)
        configuration.crossAttentionDimension = 3
        configuration.inChannels = 2
        configuration.outChannels = 2
        let unet = try UNet2DConditionModel(configuration: configuration)
        randomize(unet, seed: 18)
        let sample = randomTensor([1, 2, 3, 2], seed: 19), context = randomTensor([1, 2, 3], seed: 20)
        expectGradients("UNet2DConditionModel", [sample, context], rtol: 3e-2, atol: 3e-3) {
            try! unet($0[0], timesteps: [500], encoderHiddenStates: $0[1])
        }
    }

    @Test func tinyAutoencoderEndToEnd() throws {
        var configuration = AutoencoderKLConfiguration()
        configuration.blockOutChannels = [4, 4]
        configuration.downBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D"]
        configuration.upBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D"]
        configuration.layersPerBlock = 1
        configuration.normNumGroups = 2
        configuration.latentChannels = 2
        configuration.inChannels = 2
        configuration.outChannels = 2
        let vae = try AutoencoderKL(configuration: configuration)
        randomize(vae, seed: 21)
        let image = randomTensor([1, 2, 4, 4], seed: 22), latent = randomTensor([1, 2, 2, 2], seed: 23)
        expectGradients("AutoencoderKL.decode", [latent], rtol: 3e-2, atol: 3e-3) { try! vae.decode($0[0]) }
        expectGradients("AutoencoderKL.encode mean", [image], rtol: 3e-2, atol: 3e-3) { try! vae.encode($0[0]).mean }
        let noise = randomTensor([1, 2, 2, 2], seed: 24)
        expectGradients("DiagonalGaussianDistribution sample + KL", [image], rtol: 3e-2, atol: 3e-3) {
            let posterior = try! vae.encode($0[0])
            return posterior.sample(noise: noise).sum() + posterior.klDivergence().sum()
        }
    }
}
