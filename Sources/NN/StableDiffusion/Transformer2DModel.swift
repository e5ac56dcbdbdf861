import Tensor

/// The spatial transformer of the Stable Diffusion U-Net, as diffusers' `Transformer2DModel`
/// with continuous input:
///
///     h = proj_in(norm(x))                     group norm (ε = 1e-6), 1×1 conv (or linear)
///     h = [N, inner, H, W] → [N, H·W, inner]
///     h = transformer_blocks(h, context)       BasicTransformerBlock × depth
///     y = proj_out([N, H·W, inner] → [N, inner, H, W]) + x
///
/// Shapes: `x` `[N, channels, H, W]`, context `[N, S, contextDimension]`, output like `x`.
/// Checkpoint keys: `norm`, `proj_in`, `transformer_blocks.{i}`, `proj_out`. Stable Diffusion v1
/// uses 1×1 convolutions for `proj_in`/`proj_out`; `useLinearProjection` selects the linear
/// layers of SD 2 (applied after the reshape).
public final class Transformer2DModel: Module, @unchecked Sendable {
    /// Group norm over the input.
    public let norm: GroupNorm
    /// `channels → heads·headDimension`, a 1×1 convolution (SD 1) …
    public let projectionInConvolution: Conv2d?
    /// … or a linear layer over tokens (SD 2).
    public let projectionInLinear: Linear?
    /// The transformer blocks.
    public let transformerBlocks: [BasicTransformerBlock]
    /// `heads·headDimension → channels`, a 1×1 convolution …
    public let projectionOutConvolution: Conv2d?
    /// … or a linear layer.
    public let projectionOutLinear: Linear?

    /// Creates the model with zero weights, to be loaded from a checkpoint.
    ///
    /// - Parameters:
    ///   - channels: the input (and output) channels.
    ///   - heads: attention heads.
    ///   - headDimension: the width of each head (`channels / heads` in the U-Net).
    ///   - contextDimension: the width of the cross-attention context (`cross_attention_dim`).
    ///   - groups: the group-norm groups.
    ///   - depth: the number of transformer blocks (`transformer_layers_per_block`).
    ///   - useLinearProjection: linear `proj_in`/`proj_out` instead of 1×1 convolutions.
    public init(channels: Int, heads: Int, headDimension: Int, contextDimension: Int, groups: Int,
                depth: Int = 1, useLinearProjection: Bool = false) {
        let inner = heads * headDimension
        norm = GroupNorm(groups: groups, channels: channels, epsilon: 1e-6)
        if useLinearProjection {
            projectionInLinear = Linear(inputSize: channels, outputSize: inner)
            projectionOutLinear = Linear(inputSize: inner, outputSize: channels)
            projectionInConvolution = nil
            projectionOutConvolution = nil
        } else {
            projectionInConvolution = Conv2d(inputChannels: channels, outputChannels: inner, kernelSize: 1)
            projectionOutConvolution = Conv2d(inputChannels: inner, outputChannels: channels, kernelSize: 1)
            projectionInLinear = nil
            projectionOutLinear = nil
        }
        transformerBlocks = (0..<depth).map { _ in
            BasicTransformerBlock(dimension: inner, heads: heads, headDimension: headDimension,
                                  contextDimension: contextDimension)
        }
        super.init()
    }

    /// `norm`, `proj_in`, `transformer_blocks`, `proj_out`.
    public override var children: [(String, Module)] {
        [("norm", norm), ("proj_in", (projectionInConvolution ?? projectionInLinear)!),
         ("transformer_blocks", IndexedModules(transformerBlocks)),
         ("proj_out", (projectionOutConvolution ?? projectionOutLinear)!)]
    }

    /// Applies the transformer to `x` `[N, C, H, W]`, attending to `context` `[N, S, D]`.
    public func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        precondition(x.rank == 4, "Transformer2DModel: input must be [N, C, H, W], got \(x.shape)")
        let (n, height, width) = (x.shape[0], x.shape[2], x.shape[3])
        var h = norm(x)
        let inner: Int
        if let projectionInConvolution {
            h = projectionInConvolution(h)
            inner = h.shape[1]
            h = h.permuted([0, 2, 3, 1]).reshaped([n, height * width, inner])
        } else {
            h = h.permuted([0, 2, 3, 1]).reshaped([n, height * width, x.shape[1]])
            h = projectionInLinear!(h)
            inner = h.shape[2]
        }
        for block in transformerBlocks { h = block(h, context: context) }
        if let projectionOutConvolution {
            h = projectionOutConvolution(h.reshaped([n, height, width, inner]).permuted([0, 3, 1, 2]))
        } else {
            h = projectionOutLinear!(h).reshaped([n, height, width, x.shape[1]]).permuted([0, 3, 1, 2])
        }
        return h + x
    }
}

/// One transformer block of the U-Net, as diffusers' `BasicTransformerBlock` with layer norms
/// (Stable Diffusion's configuration): self-attention, cross-attention to the text context and a
/// GEGLU feed-forward, each pre-normed and residual:
///
///     h = h + attn1(norm1(h))
///     h = h + attn2(norm2(h), context)
///     h = h + ff(norm3(h))
///
/// Shapes: `[N, L, dimension]` → `[N, L, dimension]`; context `[N, S, contextDimension]`.
/// Checkpoint keys: `norm1`, `attn1`, `norm2`, `attn2`, `norm3`, `ff` (attention projections
/// `to_q`/`to_k`/`to_v` without bias and `to_out.0` with bias).
public final class BasicTransformerBlock: Module, @unchecked Sendable {
    /// Layer norm before self-attention.
    public let norm1: LayerNorm
    /// Self-attention.
    public let attention1: Attention
    /// Layer norm before cross-attention.
    public let norm2: LayerNorm
    /// Cross-attention to the context.
    public let attention2: Attention
    /// Layer norm before the feed-forward.
    public let norm3: LayerNorm
    /// The GEGLU feed-forward.
    public let feedForward: GEGLUFeedForward

    /// Creates the block with zero weights, to be loaded from a checkpoint.
    ///
    /// - Parameters:
    ///   - dimension: the token width (`heads · headDimension`).
    ///   - heads: attention heads.
    ///   - headDimension: the width of each head.
    ///   - contextDimension: the width of the context tokens.
    public init(dimension: Int, heads: Int, headDimension: Int, contextDimension: Int) {
        norm1 = LayerNorm(normalizedShape: [dimension])
        attention1 = Attention(dimension: dimension, heads: heads, headDimension: headDimension)
        norm2 = LayerNorm(normalizedShape: [dimension])
        attention2 = Attention(dimension: dimension, heads: heads, headDimension: headDimension,
                               contextDimension: contextDimension)
        norm3 = LayerNorm(normalizedShape: [dimension])
        feedForward = GEGLUFeedForward(dimension: dimension, hiddenDimension: 4 * dimension)
        super.init()
    }

    /// The layers under diffusers' names.
    public override var children: [(String, Module)] {
        [("norm1", norm1), ("attn1", attention1), ("norm2", norm2), ("attn2", attention2),
         ("norm3", norm3), ("ff", feedForward)]
    }

    /// Applies the block to tokens `[N, L, dimension]` with `context` `[N, S, contextDimension]`.
    public func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        var h = x + attention1(norm1(x))
        h = h + attention2(norm2(h), context: context)
        return h + feedForward(norm3(h))
    }
}

/// The gated-GELU projection of diffusers (`GEGLU`): `proj` maps to twice the hidden width, the
/// first half is multiplied by the exact GELU of the second.
///
/// Shapes: `[…, dimension]` → `[…, hiddenDimension]`. Checkpoint key: `proj`.
public final class GEGLU: Module, Layer, @unchecked Sendable {
    /// `dimension → 2·hiddenDimension`.
    public let projection: Linear

    /// Creates the projection with zero weights.
    public init(dimension: Int, hiddenDimension: Int) {
        projection = Linear(inputSize: dimension, outputSize: 2 * hiddenDimension)
        super.init()
    }

    /// `proj`.
    public override var children: [(String, Module)] { [("proj", projection)] }

    /// `a · GELU(b)` where `[a, b] = proj(x)` split in halves along the last axis.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let halves = projection(x).chunked(2, axis: -1)
        return halves[0] * halves[1].gelu()
    }
}

/// diffusers' `FeedForward` with the GEGLU activation: `net.0` (GEGLU), `net.1` (dropout, no
/// parameters), `net.2` (linear back to the token width).
///
/// Shapes: `[…, dimension]` → `[…, dimension]`.
public final class GEGLUFeedForward: Module, Layer, @unchecked Sendable {
    /// The gated projection, `dimension → hiddenDimension`.
    public let gate: GEGLU
    /// `hiddenDimension → dimension`.
    public let output: Linear

    /// Creates the block with zero weights.
    public init(dimension: Int, hiddenDimension: Int) {
        gate = GEGLU(dimension: dimension, hiddenDimension: hiddenDimension)
        output = Linear(inputSize: hiddenDimension, outputSize: dimension)
        super.init()
    }

    /// `net.0` and `net.2`.
    public override var children: [(String, Module)] {
        [("net", IndexedModules([(index: 0, module: gate), (index: 2, module: output)]))]
    }

    /// `net.2(GEGLU(x))`.
    public func callAsFunction(_ x: Tensor) -> Tensor { output(gate(x)) }
}
