import Tensor

/// `fn(LayerNorm(x))`: the pre-norm wrapper of vit-pytorch (`norm`, `fn` in the keys).
public final class PreNorm<Wrapped: Module>: Module, @unchecked Sendable {
    /// The normalisation applied first.
    public let norm: LayerNorm
    /// The wrapped block.
    public let function: Wrapped

    /// Wraps `function` after a layer norm over `dimension`.
    public init(dimension: Int, _ function: Wrapped) {
        norm = LayerNorm(normalizedShape: [dimension])
        self.function = function
        super.init()
    }

    /// `norm` and `fn`.
    public override var children: [(String, Module)] { [("norm", norm), ("fn", function)] }
}

/// The ViT feed-forward block: `Linear → GELU → Dropout → Linear → Dropout`, keyed `net.0` and
/// `net.3` (vit-pytorch's layout).
public final class FeedForward: Module, Layer, @unchecked Sendable {
    /// The first projection, `dimension → hiddenDimension`.
    public let input: Linear
    /// The second projection, `hiddenDimension → dimension`.
    public let output: Linear

    /// Creates the block with zero weights.
    public init(dimension: Int, hiddenDimension: Int) {
        input = Linear(inputSize: dimension, outputSize: hiddenDimension)
        output = Linear(inputSize: hiddenDimension, outputSize: dimension)
        super.init()
    }

    /// `net` with `0` and `3` (the GELU and dropouts hold no parameters).
    public override var children: [(String, Module)] {
        [("net", IndexedModules([(index: 0, module: input), (index: 3, module: output)]))]
    }

    /// `W₂ · GELU(W₁ x + b₁) + b₂` (dropout is 0 in the released models).
    public func callAsFunction(_ x: Tensor) -> Tensor { output(input(x).gelu()) }
}

/// A stack of pre-norm residual transformer blocks (vit-pytorch's `Transformer`):
/// `x = x + Attention(LN(x))`, `x = x + FeedForward(LN(x))`, keyed `layers.{i}.0` and
/// `layers.{i}.1`. No positional embedding and no final norm.
///
/// Shapes: `[B, N, dimension] → [B, N, dimension]`.
public final class PreNormTransformer: Module, @unchecked Sendable {
    /// The attention half of each block.
    public let attentionBlocks: [PreNorm<Attention>]
    /// The feed-forward half of each block.
    public let feedForwardBlocks: [PreNorm<FeedForward>]

    /// Creates a stack with zero weights.
    public init(dimension: Int, depth: Int, heads: Int, headDimension: Int, mlpDimension: Int) {
        attentionBlocks = (0..<depth).map { _ in
            PreNorm(dimension: dimension, Attention(dimension: dimension, heads: heads, headDimension: headDimension, fusedProjection: true))
        }
        feedForwardBlocks = (0..<depth).map { _ in
            PreNorm(dimension: dimension, FeedForward(dimension: dimension, hiddenDimension: mlpDimension))
        }
        super.init()
    }

    /// `layers.{i}.{0,1}`.
    public override var children: [(String, Module)] {
        [("layers", IndexedModules(zip(attentionBlocks, feedForwardBlocks).map { IndexedModules([$0, $1]) as Module }))]
    }

    /// Runs every block over all tokens.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (attention, feedForward) in zip(attentionBlocks, feedForwardBlocks) {
            h = h + attention.function(attention.norm(h))
            h = h + feedForward.function(feedForward.norm(h))
        }
        return h
    }

    /// Runs every block but computes the last one for the first `keptTokens` tokens only:
    /// exactly the same values for those tokens, without the last block's cost for the others
    /// (their keys and values are still used).
    ///
    /// Shapes: `[B, N, dimension] → [B, keptTokens, dimension]`.
    public func callAsFunction(_ x: Tensor, keepingFirst keptTokens: Int) -> Tensor {
        precondition(keptTokens >= 1 && keptTokens <= x.shape[1], "PreNormTransformer: keptTokens \(keptTokens) outside 1...\(x.shape[1])")
        var h = x
        let depth = attentionBlocks.count
        for (index, (attention, feedForward)) in zip(attentionBlocks, feedForwardBlocks).enumerated() {
            if index == depth - 1 {
                let normalized = attention.norm(h)
                let head = h.sliced(axis: 1, start: 0, end: keptTokens)
                let queries = normalized.sliced(axis: 1, start: 0, end: keptTokens)
                h = head + attention.function(queries, context: normalized)
            } else {
                h = h + attention.function(attention.norm(h))
            }
            h = h + feedForward.function(feedForward.norm(h))
        }
        return h
    }
}
