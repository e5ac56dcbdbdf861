import Tensor

/// A configurable Vision Transformer (Dosovitskiy et al., ICLR 2021) built from Grain's blocks:
/// patch embedding, optional class token and learned positional embedding, a pre-norm
/// transformer, a final layer norm and an optional linear head.
///
/// Shapes: images `[B, channels, H, W]` (H, W multiples of `patchSize`) → logits
/// `[B, classes]`, or the pooled feature `[B, dimension]` when `classes` is 0.
///
/// Checkpoint keys: `patch_embedding.weight`/`.bias` (a `Linear` over flattened patches, or a
/// `Conv2d` stem with kernel = stride = patch size), `class_token` `[1, 1, dimension]`,
/// `position_embedding` `[1, tokens, dimension]`, `transformer.layers.{i}.{0,1}…` (as
/// ``PreNormTransformer``), `norm`, `head`.
public final class VisionTransformer: Module, Layer, @unchecked Sendable {
    /// How patches become tokens.
    public enum PatchEmbedding: String, Sendable, Codable {
        /// Flatten each `channels × p × p` patch (channel-major) and apply a linear map.
        case linear
        /// A convolution with kernel = stride = patch size.
        case convolution
    }

    /// The architecture.
    public struct Configuration: Sendable, Codable, Equatable {
        /// Input image side (square), a multiple of `patchSize`.
        public var imageSize: Int
        /// Patch side.
        public var patchSize: Int
        /// Input channels.
        public var channels: Int
        /// Token width.
        public var dimension: Int
        /// Transformer blocks.
        public var depth: Int
        /// Attention heads per block.
        public var heads: Int
        /// Width of each head.
        public var headDimension: Int
        /// Hidden width of the feed-forward block, as a multiple of `dimension`.
        public var mlpRatio: Double
        /// The patch embedding.
        public var patchEmbedding: PatchEmbedding
        /// Whether a learned class token is prepended (and pooled); otherwise tokens are averaged.
        public var classToken: Bool
        /// Whether a learned positional embedding is added.
        public var positionEmbedding: Bool
        /// Output classes of the head; 0 for no head.
        public var classes: Int

        /// Creates a configuration (the defaults are a small ViT on 32×32 images).
        public init(imageSize: Int = 32, patchSize: Int = 8, channels: Int = 3, dimension: Int = 64, depth: Int = 2,
                    heads: Int = 4, headDimension: Int = 16, mlpRatio: Double = 2, patchEmbedding: PatchEmbedding = .linear,
                    classToken: Bool = true, positionEmbedding: Bool = true, classes: Int = 10) {
            self.imageSize = imageSize
            self.patchSize = patchSize
            self.channels = channels
            self.dimension = dimension
            self.depth = depth
            self.heads = heads
            self.headDimension = headDimension
            self.mlpRatio = mlpRatio
            self.patchEmbedding = patchEmbedding
            self.classToken = classToken
            self.positionEmbedding = positionEmbedding
            self.classes = classes
        }

        /// Patches per image.
        public var patchCount: Int { (imageSize / patchSize) * (imageSize / patchSize) }
    }

    /// The architecture.
    public let configuration: Configuration
    /// The linear patch embedding, when `patchEmbedding == .linear`.
    public let linearEmbedding: Linear?
    /// The convolutional stem, when `patchEmbedding == .convolution`.
    public let convolutionEmbedding: Conv2d?
    /// The class token `[1, 1, dimension]`, if any.
    public let classTokenParameter: Parameter?
    /// The positional embedding `[1, tokens, dimension]`, if any.
    public let positionParameter: Parameter?
    /// The transformer.
    public let transformer: PreNormTransformer
    /// The final normalisation.
    public let norm: LayerNorm
    /// The classifier, if any.
    public let head: Linear?

    /// Creates a ViT initialised from `generator` (PyTorch's defaults for linear and convolution
    /// layers; class token and positional embedding from `N(0, 0.02²)`).
    public init<G: RandomNumberGenerator>(_ configuration: Configuration, using generator: inout G) {
        let c = configuration
        precondition(c.imageSize > 0 && c.patchSize > 0 && c.imageSize % c.patchSize == 0,
                     "VisionTransformer: imageSize \(c.imageSize) is not a multiple of patchSize \(c.patchSize)")
        self.configuration = c
        let patchWidth = c.channels * c.patchSize * c.patchSize
        switch c.patchEmbedding {
        case .linear:
            linearEmbedding = Linear(inputSize: patchWidth, outputSize: c.dimension, using: &generator)
            convolutionEmbedding = nil
        case .convolution:
            linearEmbedding = nil
            convolutionEmbedding = Conv2d(inputChannels: c.channels, outputChannels: c.dimension, kernelSize: c.patchSize,
                                          stride: c.patchSize, using: &generator)
        }
        classTokenParameter = c.classToken
            ? Parameter(Tensor.randomNormal([1, 1, c.dimension], standardDeviation: 0.02, using: &generator)) : nil
        positionParameter = c.positionEmbedding
            ? Parameter(Tensor.randomNormal([1, c.patchCount + (c.classToken ? 1 : 0), c.dimension], standardDeviation: 0.02,
                                            using: &generator)) : nil
        transformer = PreNormTransformer(dimension: c.dimension, depth: c.depth, heads: c.heads, headDimension: c.headDimension,
                                         mlpDimension: Int((Double(c.dimension) * c.mlpRatio).rounded()))
        norm = LayerNorm(normalizedShape: [c.dimension])
        head = c.classes > 0 ? Linear(inputSize: c.dimension, outputSize: c.classes, using: &generator) : nil
        super.init()
        // The transformer's blocks start at zero (they are built for loading): draw them too.
        for (_, parameter) in transformer.namedParameters() where parameter.shape.count == 2 {
            let fanIn = parameter.shape[1]
            parameter.assign(defaultInitialization(parameter.shape, fanIn: fanIn, using: &generator))
        }
        for (key, parameter) in transformer.namedParameters() where key.hasSuffix("norm.weight") {
            parameter.assign(Tensor.ones(parameter.shape))
        }
    }

    /// `class_token`, `position_embedding`.
    public override var parameters: [(String, Parameter)] {
        (classTokenParameter.map { [("class_token", $0)] } ?? []) + (positionParameter.map { [("position_embedding", $0)] } ?? [])
    }

    /// `patch_embedding`, `transformer`, `norm`, `head`.
    public override var children: [(String, Module)] {
        var result: [(String, Module)] = [("patch_embedding", (linearEmbedding as Module?) ?? convolutionEmbedding!)]
        result += [("transformer", transformer), ("norm", norm)]
        if let head { result.append(("head", head)) }
        return result
    }

    /// Tokens `[B, patches, dimension]` of `images` `[B, channels, H, W]`, raster order.
    public func patchTokens(_ images: Tensor) -> Tensor {
        let c = configuration
        precondition(images.rank == 4 && images.shape[1] == c.channels && images.shape[2] == c.imageSize && images.shape[3] == c.imageSize,
                     "VisionTransformer: images must be [B, \(c.channels), \(c.imageSize), \(c.imageSize)], got \(images.shape)")
        let b = images.shape[0], p = c.patchSize, side = c.imageSize / p
        if let convolutionEmbedding {
            return convolutionEmbedding(images).reshaped([b, c.dimension, side * side]).permuted([0, 2, 1])
        }
        let patches = images.reshaped([b, c.channels, side, p, side, p]).permuted([0, 2, 4, 1, 3, 5])
            .reshaped([b, side * side, c.channels * p * p])
        return linearEmbedding!(patches)
    }

    /// The pooled, normalised feature `[B, dimension]` (class token, or the mean of the tokens).
    public func features(_ images: Tensor) -> Tensor {
        var tokens = patchTokens(images)
        let b = tokens.shape[0]
        if let classTokenParameter {
            tokens = Tensor.concatenate([classTokenParameter.value.expanded(to: [b, 1, configuration.dimension]), tokens], axis: 1)
        }
        if let positionParameter { tokens = tokens + positionParameter.value }
        let encoded = norm(transformer(tokens))
        return configuration.classToken
            ? encoded.sliced(axis: 1, start: 0, end: 1).reshaped([b, configuration.dimension])
            : encoded.mean(alongAxes: [1])
    }

    /// Logits `[B, classes]`, or the feature when there is no head.
    public func callAsFunction(_ images: Tensor) -> Tensor {
        let f = features(images)
        return head.map { $0(f) } ?? f
    }
}
