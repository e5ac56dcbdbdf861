import Tensor

/// The single-head self-attention over pixels in the VAE's middle block, as diffusers'
/// `Attention` with `group_norm` (built from the VAE's `_from_deprecated_attn_block`):
///
///     h = group_norm(x) → [N, H·W, C]
///     y = to_out.0(softmax(to_q(h) to_k(h)ᵀ / √(C/heads)) to_v(h)) → [N, C, H, W] + x
///
/// Checkpoint keys (diffusers ≥ 0.14): `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0`, all
/// with bias. Older diffusers checkpoints name them `query`, `key`, `value`, `proj_attn`; the
/// loader of ``DiffusersFolder`` renames those on the fly (as diffusers does).
///
/// Shapes: `[N, C, H, W]` → `[N, C, H, W]`.
public final class SpatialSelfAttention: Module, Layer, @unchecked Sendable {
    /// Group norm before the projections.
    public let groupNorm: GroupNorm
    /// The attention over pixel tokens.
    public let attention: Attention
    /// The divisor of the output (diffusers' `rescale_output_factor`, 1 in the VAE).
    public let rescaleOutputFactor: Float

    /// Creates the block with zero weights.
    ///
    /// - Parameters:
    ///   - channels: the channels (token width).
    ///   - headDimension: the width of each head (`channels`: one head, as the SD VAE).
    ///   - groups: group-norm groups.
    ///   - epsilon: the group norm's epsilon (1e-6 in the VAE).
    ///   - rescaleOutputFactor: the divisor of the output (diffusers' `rescale_output_factor`).
    public init(channels: Int, headDimension: Int? = nil, groups: Int, epsilon: Float, rescaleOutputFactor: Float = 1) {
        let width = headDimension ?? channels
        precondition(width > 0 && channels % width == 0, "SpatialSelfAttention: head width \(width) must divide \(channels) channels")
        groupNorm = GroupNorm(groups: groups, channels: channels, epsilon: epsilon)
        attention = Attention(dimension: channels, heads: channels / width, headDimension: width, projectionBias: true)
        self.rescaleOutputFactor = rescaleOutputFactor
        super.init()
    }

    /// `group_norm`, then `to_q`, `to_k`, `to_v`, `to_out` at the same level.
    public override var children: [(String, Module)] { [("group_norm", groupNorm)] + attention.children }

    /// Attends over all pixels of each image in `x` `[N, C, H, W]`, residually.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "SpatialSelfAttention: input must be [N, C, H, W], got \(x.shape)")
        let (n, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let tokens = groupNorm(x).reshaped([n, channels, height * width]).permuted([0, 2, 1])
        let attended = attention(tokens).permuted([0, 2, 1]).reshaped([n, channels, height, width])
        let sum = attended + x
        return rescaleOutputFactor == 1 ? sum : sum / rescaleOutputFactor
    }
}

/// The VAE's middle block, as diffusers' `UNetMidBlock2D` without time embedding: `resnets.0`,
/// then (`attentions.{i}`, `resnets.{i+1}`) pairs; without attention (`mid_block_add_attention`
/// false) only the residual blocks.
public final class UNetMidBlock2D: Module, Layer, @unchecked Sendable {
    /// The residual blocks.
    public let resnets: [ResnetBlock2D]
    /// The attention blocks (empty without attention).
    public let attentions: [SpatialSelfAttention]

    /// Creates the block with zero weights.
    ///
    /// - Parameters:
    ///   - channels: channels in and out.
    ///   - groups: group-norm groups.
    ///   - epsilon: group-norm epsilon (1e-6 in the VAE).
    ///   - addAttention: whether the attention blocks exist.
    ///   - layers: attention/residual pairs after the first residual block.
    public init(channels: Int, groups: Int, epsilon: Float, addAttention: Bool = true, layers: Int = 1) {
        resnets = (0...layers).map { _ in
            ResnetBlock2D(inputChannels: channels, outputChannels: channels, timeEmbeddingChannels: nil,
                          groups: groups, epsilon: epsilon)
        }
        attentions = addAttention ? (0..<layers).map { _ in
            SpatialSelfAttention(channels: channels, groups: groups, epsilon: epsilon)
        } : []
        super.init()
    }

    /// `attentions`, `resnets`.
    public override var children: [(String, Module)] {
        (attentions.isEmpty ? [] : [("attentions", IndexedModules(attentions))]) + [("resnets", IndexedModules(resnets))]
    }

    /// `resnets.0`, then each attention (if any) and residual block.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnets[0](x)
        for (i, resnet) in resnets.dropFirst().enumerated() {
            if i < attentions.count { h = attentions[i](h) }
            h = resnet(h)
        }
        return h
    }
}

/// An encoder level, as diffusers' `DownEncoderBlock2D`: `resnets.{i}` (no time embedding) and
/// `downsamplers.0` (padding 0: the asymmetric pad) unless last.
public final class DownEncoderBlock2D: Module, Layer, @unchecked Sendable {
    /// The residual blocks.
    public let resnets: [ResnetBlock2D]
    /// The downsampler, except in the last level.
    public let downsampler: Downsample2D?

    /// Creates the block with zero weights.
    public init(inputChannels: Int, outputChannels: Int, layers: Int, groups: Int, epsilon: Float, addDownsample: Bool) {
        resnets = ResnetBlock2D.stack(layers: layers, inputChannels: inputChannels, outputChannels: outputChannels,
                                      timeEmbeddingChannels: nil, groups: groups, epsilon: epsilon)
        downsampler = addDownsample ? Downsample2D(channels: outputChannels, padding: 0) : nil
        super.init()
    }

    /// `resnets`, `downsamplers`.
    public override var children: [(String, Module)] {
        [("resnets", IndexedModules(resnets))] + (downsampler.map { [("downsamplers", IndexedModules([$0]))] } ?? [])
    }

    /// The residual blocks, then the downsampler.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = resnets.reduce(x) { $1($0) }
        return downsampler.map { $0(h) } ?? h
    }
}

/// A decoder level, as diffusers' `UpDecoderBlock2D`: `resnets.{i}` and `upsamplers.0` unless last.
public final class UpDecoderBlock2D: Module, Layer, @unchecked Sendable {
    /// The residual blocks.
    public let resnets: [ResnetBlock2D]
    /// The upsampler, except in the last level.
    public let upsampler: Upsample2D?

    /// Creates the block with zero weights.
    public init(inputChannels: Int, outputChannels: Int, layers: Int, groups: Int, epsilon: Float, addUpsample: Bool) {
        resnets = ResnetBlock2D.stack(layers: layers, inputChannels: inputChannels, outputChannels: outputChannels,
                                      timeEmbeddingChannels: nil, groups: groups, epsilon: epsilon)
        upsampler = addUpsample ? Upsample2D(channels: outputChannels) : nil
        super.init()
    }

    /// `resnets`, `upsamplers`.
    public override var children: [(String, Module)] {
        [("resnets", IndexedModules(resnets))] + (upsampler.map { [("upsamplers", IndexedModules([$0]))] } ?? [])
    }

    /// The residual blocks, then the upsampler.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = resnets.reduce(x) { $1($0) }
        return upsampler.map { $0(h) } ?? h
    }
}

/// The VAE encoder, as diffusers' `Encoder`: `conv_in`, `down_blocks`, `mid_block`,
/// `conv_norm_out`, SiLU, `conv_out` (to `2 × latent_channels`: mean and log-variance).
///
/// Shapes: `[N, inChannels, H, W]` → `[N, 2·latentChannels, H/2^(levels−1), W/2^(levels−1)]`.
public final class VAEEncoder: Module, Layer, @unchecked Sendable {
    /// `conv_in`.
    public let convIn: Conv2d
    /// `down_blocks`.
    public let downBlocks: [DownEncoderBlock2D]
    /// `mid_block`.
    public let midBlock: UNetMidBlock2D
    /// `conv_norm_out`.
    public let convNormOut: GroupNorm
    /// `conv_out`.
    public let convOut: Conv2d

    /// Creates the encoder of `configuration` with zero weights.
    public init(configuration c: AutoencoderKLConfiguration) {
        let channels = c.blockOutChannels, epsilon: Float = 1e-6
        convIn = Conv2d(inputChannels: c.inChannels, outputChannels: channels[0], kernelSize: 3, padding: 1)
        var output = channels[0]
        downBlocks = channels.indices.map { i in
            let input = output
            output = channels[i]
            return DownEncoderBlock2D(inputChannels: input, outputChannels: output, layers: c.layersPerBlock,
                                      groups: c.normNumGroups, epsilon: epsilon, addDownsample: i < channels.count - 1)
        }
        midBlock = UNetMidBlock2D(channels: channels.last!, groups: c.normNumGroups, epsilon: epsilon,
                                  addAttention: c.midBlockAddAttention)
        convNormOut = GroupNorm(groups: c.normNumGroups, channels: channels.last!, epsilon: epsilon)
        convOut = Conv2d(inputChannels: channels.last!, outputChannels: 2 * c.latentChannels, kernelSize: 3, padding: 1)
        super.init()
    }

    /// The parts under diffusers' names.
    public override var children: [(String, Module)] {
        [("conv_in", convIn), ("down_blocks", IndexedModules(downBlocks)), ("mid_block", midBlock),
         ("conv_norm_out", convNormOut), ("conv_out", convOut)]
    }

    /// Encodes images `[N, C, H, W]` to the Gaussian's parameters.
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, observer: nil) }

    /// Encodes images, calling `observer` after each stage (`conv_in`, `down_blocks.{i}`,
    /// `mid_block`, `conv_out`) with its output.
    public func callAsFunction(_ x: Tensor, observer: ((String, Tensor) -> Void)?) -> Tensor {
        var h = convIn(x)
        observer?("conv_in", h)
        for (i, block) in downBlocks.enumerated() {
            h = block(h)
            observer?("down_blocks.\(i)", h)
        }
        h = midBlock(h)
        observer?("mid_block", h)
        h = convOut(convNormOut.normalizedSiLU(h))
        observer?("conv_out", h)
        return h
    }
}

/// The VAE decoder, as diffusers' `Decoder`: `conv_in`, `mid_block`, `up_blocks`,
/// `conv_norm_out`, SiLU, `conv_out`.
///
/// Shapes: `[N, latentChannels, h, w]` → `[N, outChannels, h·2^(levels−1), w·2^(levels−1)]`.
public final class VAEDecoder: Module, Layer, @unchecked Sendable {
    /// `conv_in`.
    public let convIn: Conv2d
    /// `mid_block`.
    public let midBlock: UNetMidBlock2D
    /// `up_blocks`.
    public let upBlocks: [UpDecoderBlock2D]
    /// `conv_norm_out`.
    public let convNormOut: GroupNorm
    /// `conv_out`.
    public let convOut: Conv2d

    /// Creates the decoder of `configuration` with zero weights.
    public init(configuration c: AutoencoderKLConfiguration) {
        let reversed = Array(c.blockOutChannels.reversed()), epsilon: Float = 1e-6
        convIn = Conv2d(inputChannels: c.latentChannels, outputChannels: reversed[0], kernelSize: 3, padding: 1)
        midBlock = UNetMidBlock2D(channels: reversed[0], groups: c.normNumGroups, epsilon: epsilon,
                                  addAttention: c.midBlockAddAttention)
        var output = reversed[0]
        upBlocks = reversed.indices.map { i in
            let previous = output
            output = reversed[i]
            return UpDecoderBlock2D(inputChannels: previous, outputChannels: output, layers: c.layersPerBlock + 1,
                                    groups: c.normNumGroups, epsilon: epsilon, addUpsample: i < reversed.count - 1)
        }
        convNormOut = GroupNorm(groups: c.normNumGroups, channels: c.blockOutChannels[0], epsilon: epsilon)
        convOut = Conv2d(inputChannels: c.blockOutChannels[0], outputChannels: c.outChannels, kernelSize: 3, padding: 1)
        super.init()
    }

    /// The parts under diffusers' names.
    public override var children: [(String, Module)] {
        [("conv_in", convIn), ("mid_block", midBlock), ("up_blocks", IndexedModules(upBlocks)),
         ("conv_norm_out", convNormOut), ("conv_out", convOut)]
    }

    /// Decodes latents `[N, latentChannels, h, w]` to images.
    public func callAsFunction(_ z: Tensor) -> Tensor { callAsFunction(z, observer: nil) }

    /// Decodes latents, calling `observer` after each stage (`conv_in`, `mid_block`,
    /// `up_blocks.{i}`, `conv_out`) with its output.
    public func callAsFunction(_ z: Tensor, observer: ((String, Tensor) -> Void)?) -> Tensor {
        var h = convIn(z)
        observer?("conv_in", h)
        h = midBlock(h)
        observer?("mid_block", h)
        for (i, block) in upBlocks.enumerated() {
            h = block(h)
            observer?("up_blocks.\(i)", h)
        }
        h = convOut(convNormOut.normalizedSiLU(h))
        observer?("conv_out", h)
        return h
    }
}
