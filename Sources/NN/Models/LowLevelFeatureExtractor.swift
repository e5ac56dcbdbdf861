import Foundation
import Tensor

/// The low-level feature extractor of *Beyond Generation* (Zhong et al., CVPR 2025), exactly as
/// the authors released it, with their checkpoint keys (69 tensors, 762,821 parameters).
///
/// Pipeline per 16×16 patch token: the SRM bank (`group1`, 3 → 90 maps), `group1_b` (conv
/// 90→32, LayerNorm `[32,16,16]`, Hardtanh ±5), `group2`…`group5` (conv/LayerNorm/ReLU stacks with
/// average pooling down to 2×2), covariance pooling, a 5-step Newton–Schulz square root and the
/// upper triangle → 528 values; then a 2-block pre-norm transformer over the patch tokens of an
/// image. The feature of an image is token 0 after the transformer (the authors' readout;
/// ``features(_:readout:)`` offers the mean over all tokens too, ``FeatureReadout``).
///
/// Shapes: input `[B, N, 3, 16, 16]` (N patch tokens of each image, raster order), output
/// `[B, 528]`.
///
/// The authors' 7-way classification layer `fc` is kept so that their checkpoints load strictly;
/// it plays no part in the features.
public final class LowLevelFeatureExtractor: Module, @unchecked Sendable {
    /// The width of the feature: 32·33/2.
    public static let featureDimension = 528
    /// The side of a patch token.
    public static let patchSize = 16

    /// The fixed SRM bank.
    public let highPass = HighPassFilterBank()
    /// Conv 90→32, LayerNorm `[32,16,16]`, Hardtanh(−5, 5).
    public let stem: Sequential
    /// The four convolution stages (16×16, 8×8, 4×4, 2×2).
    public let stages: [Sequential]
    /// Second-order pooling.
    public let covariancePooling = CovariancePooling()
    /// The matrix square root.
    public let squareRoot = NewtonSchulzSquareRoot(iterations: 5)
    /// The 528-d vectorisation.
    public let upperTriangle = UpperTriangle()
    /// The transformer over patch tokens.
    public let transformer: PreNormTransformer
    /// The authors' unused 528 → 7 classifier (`fc`).
    public let authorsClassifier: Linear

    /// Creates the network with the SRM filters set and every other weight zero, ready to load a
    /// checkpoint (``Module/load(_:strict:ignoring:)``).
    public override init() {
        stem = Sequential([
            (index: 0, layer: Conv2d(inputChannels: 90, outputChannels: 32, kernelSize: 3, padding: 1)),
            (index: 1, layer: LayerNorm(normalizedShape: [32, 16, 16])),
            (index: 2, layer: Activation(.hardtanh(min: -5, max: 5))),
        ])
        func stage(convolutions: Int, size: Int, pool: Bool) -> Sequential {
            var layers: [(index: Int, layer: any Layer)] = []
            for i in 0..<convolutions {
                layers.append((index: 3 * i, layer: Conv2d(inputChannels: 32, outputChannels: 32, kernelSize: 3, padding: 1)))
                layers.append((index: 3 * i + 1, layer: LayerNorm(normalizedShape: [32, size, size])))
                layers.append((index: 3 * i + 2, layer: Activation(.relu)))
            }
            if pool { layers.append((index: 3 * convolutions, layer: AvgPool2d(kernelSize: 3, stride: 2, padding: 1))) }
            return Sequential(layers)
        }
        stages = [stage(convolutions: 4, size: 16, pool: true), stage(convolutions: 2, size: 8, pool: true),
                  stage(convolutions: 2, size: 4, pool: true), stage(convolutions: 2, size: 2, pool: false)]
        transformer = PreNormTransformer(dimension: 528, depth: 2, heads: 4, headDimension: 16, mlpDimension: 128)
        authorsClassifier = Linear(inputSize: 528, outputSize: 7)
        super.init()
    }

    /// Loads one of the authors' checkpoints (`basic`, `ft_genimage`, `ft_drct2m`; `.pth` or
    /// `.safetensors`) strictly.
    public convenience init(contentsOf url: URL) throws {
        self.init()
        try load(contentsOf: url)
    }

    /// The checkpoint layout: `group1`, `group1_b`, `group2`…`group5`, `transformer`, `fc`.
    public override var children: [(String, Module)] {
        [("group1", highPass), ("group1_b", stem), ("group2", stages[0]), ("group3", stages[1]),
         ("group4", stages[2]), ("group5", stages[3]), ("transformer", transformer), ("fc", authorsClassifier)]
    }

    /// Patches per pass through the convolution stacks when no gradient is recorded: the
    /// intermediates of 128 patches (at most 128 × 90 × 16 × 16 floats, 12 MB) stay small enough
    /// for the allocator to reuse between passes instead of mapping fresh pages for every layer,
    /// and peak memory no longer grows with the number of patches.
    public static let inferenceChunk = 128

    /// The per-patch part: `[P, 3, 16, 16] → [P, 528]`. When `record` is given, every
    /// intermediate is stored under the names of the authors' fixtures (`srm`, `group1_b`, …,
    /// `covpool`, `sqrtm`, `triuvec`).
    ///
    /// Each LayerNorm and the ReLU or Hardtanh after it run as one pass
    /// (`Tensor.layerNorm(_:normalizedShape:weight:bias:epsilon:clampedTo:)`, the same values).
    /// Without gradient recording (and without `record`) the stack from the SRM bank to `group5`
    /// runs as one pipeline of 16-patch blocks (`ConvolutionAlgorithms.patchBlocksEnabled`,
    /// the same values within float32 rounding), or, when that is switched off, layer by layer in
    /// chunks of ``inferenceChunk``; every patch is computed independently, so chunking does not
    /// change the result.
    public func patchDescriptors(_ patches: Tensor, record: ((String, Tensor) -> Void)? = nil) -> Tensor {
        precondition(patches.rank == 4 && Array(patches.shape[1...]) == [3, 16, 16],
                     "LowLevelFeatureExtractor: patches must be [P, 3, 16, 16], got \(patches.shape)")
        let count = patches.shape[0]
        if record == nil && !GradientMode.isEnabled && ConvolutionAlgorithms.patchBlocksEnabled
           && ConvolutionAlgorithms.winogradEnabled,
           let result = blockDescriptors(patches) {
            return result
        }
        let chunk = Self.inferenceChunk
        guard record == nil && !GradientMode.isEnabled && count > chunk else {
            return descriptors(patches, record: record)
        }
        let width = Self.featureDimension
        var result = Tensor(uninitializedShape: [count, width])
        var start = 0
        while start < count {
            let end = Swift.min(count, start + chunk)
            let part = descriptors(patches.sliced(axis: 0, start: start, end: end), record: nil)
            part.withUnsafeBufferPointer { source in
                result.withUnsafeMutableBufferPointer { target in
                    (target.baseAddress! + start * width).update(from: source.baseAddress!, count: (end - start) * width)
                }
            }
            start = end
        }
        return result
    }

    /// ``patchDescriptors(_:record:)`` in one pass over all `patches`.
    private func descriptors(_ patches: Tensor, record: ((String, Tensor) -> Void)?) -> Tensor {
        var x = highPass(patches)
        record?("srm", x.reshaped([-1, 30, 16, 16]))
        x = Self.run(stem, x)
        record?("group1_b", x)
        for (i, stage) in stages.enumerated() {
            x = Self.run(stage, x)
            record?("group\(i + 2)", x)
        }
        x = covariancePooling(x)
        record?("covpool", x)
        x = squareRoot(x)
        record?("sqrtm", x)
        x = upperTriangle(x)
        record?("triuvec", x)
        return x
    }

    /// Applies a stage's layers in order, each LayerNorm followed by a ReLU or Hardtanh as one
    /// fused op (the same values as the two layers; differentiable through them).
    static func run(_ stage: Sequential, _ input: Tensor) -> Tensor {
        let layers = stage.layers
        var x = input
        var i = 0
        while i < layers.count {
            if let norm = layers[i].layer as? LayerNorm, i + 1 < layers.count,
               let activation = layers[i + 1].layer as? Activation, let range = clampRange(activation.function) {
                x = Tensor.layerNorm(x, normalizedShape: norm.normalizedShape, weight: norm.weight?.value,
                                     bias: norm.bias?.value, epsilon: norm.epsilon, clampedTo: range)
                i += 2
            } else {
                x = layers[i].layer(x)
                i += 1
            }
        }
        return x
    }

    /// The clamp an activation is, if it is one (ReLU, Hardtanh).
    static func clampRange(_ function: Activation.Function) -> ClosedRange<Float>? {
        switch function {
        case .relu: return 0...Float.infinity
        case let .hardtanh(lower, upper) where lower <= upper: return lower...upper
        default: return nil
        }
    }

    /// All output tokens: `[B, N, 3, 16, 16] → [B, N, 528]`.
    public func allTokens(_ tokens: Tensor) -> Tensor {
        let (b, n) = checkTokens(tokens)
        let descriptors = patchDescriptors(tokens.reshaped([b * n, 3, 16, 16])).reshaped([b, n, 528])
        return transformer(descriptors)
    }

    /// The image features: token 0 after the transformer, `[B, N, 3, 16, 16] → [B, 528]`. The
    /// last transformer block is evaluated for token 0 only (exact).
    public func callAsFunction(_ tokens: Tensor, record: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let (b, n) = checkTokens(tokens)
        let descriptors = patchDescriptors(tokens.reshaped([b * n, 3, 16, 16]), record: record).reshaped([b, n, 528])
        record?("transformer_in", descriptors)
        return transformer(descriptors, keepingFirst: 1).reshaped([b, 528])
    }

    /// Features without recording gradients (the inference entry point): token 0, the authors'
    /// readout.
    public func features(_ tokens: Tensor) -> Tensor {
        Tensor.withoutGradient { self(tokens) }
    }

    /// Features by `readout`, without recording gradients: `[B, N, 3, 16, 16] → [B, 528]`.
    /// ``FeatureReadout/firstToken`` is ``features(_:)`` itself (bit-identical);
    /// ``FeatureReadout/meanOfTokens`` is the mean over the `N` tokens of ``allTokens(_:)``
    /// (the last block evaluated for every token).
    public func features(_ tokens: Tensor, readout: FeatureReadout) -> Tensor {
        switch readout {
        case .firstToken:
            return features(tokens)
        case .meanOfTokens:
            return Tensor.withoutGradient { allTokens(tokens).mean(alongAxes: [1]) }
        }
    }

    private func checkTokens(_ tokens: Tensor) -> (Int, Int) {
        precondition(tokens.rank == 5 && Array(tokens.shape[2...]) == [3, 16, 16] && tokens.shape[1] > 0,
                     "LowLevelFeatureExtractor: tokens must be [B, N, 3, 16, 16] with N ≥ 1, got \(tokens.shape)")
        return (tokens.shape[0], tokens.shape[1])
    }
}
