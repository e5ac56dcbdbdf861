import Tensor

/// Multi-head attention with the projections named as vit-pytorch and diffusers name them:
/// a fused `to_qkv` (no bias) or separate `to_q`, `to_k`, `to_v`, and the output projection
/// `to_out.0`.
///
/// `softmax(Q·Kᵀ · scale) · V` per head, with `scale = headDimension^−½`; heads are
/// concatenated along the feature axis (`(h d)` order) before `to_out.0`.
///
/// Shapes: query tokens `[B, L, dimension]`, context tokens `[B, S, contextDimension]`,
/// output `[B, L, dimension]`. Self-attention when no context is given.
public final class Attention: Module, @unchecked Sendable {
    /// The number of heads.
    public let heads: Int
    /// The width of each head.
    public let headDimension: Int
    /// The fused projection `[3·heads·headDimension, dimension]`, when fused.
    public let toQueryKeyValue: Linear?
    /// The query projection, when separate.
    public let toQuery: Linear?
    /// The key projection, when separate.
    public let toKey: Linear?
    /// The value projection, when separate.
    public let toValue: Linear?
    /// The output projection, kept at index 0 of `to_out` as in the checkpoints.
    public let toOut: Linear
    /// Queries processed per chunk in the attention kernel (bounds memory for long sequences).
    public var queryChunkSize = 1024

    /// Creates an attention block with zero weights, to be loaded from a checkpoint.
    ///
    /// - Parameters:
    ///   - dimension: the width of the query tokens (and of the output).
    ///   - heads: the number of heads.
    ///   - headDimension: the width of each head.
    ///   - contextDimension: the width of the key/value tokens (cross-attention); `nil` means
    ///     `dimension`.
    ///   - fusedProjection: one `to_qkv` linear (vit-pytorch) instead of `to_q/to_k/to_v` (diffusers).
    ///   - projectionBias: whether the q/k/v projections have a bias.
    public init(dimension: Int, heads: Int, headDimension: Int, contextDimension: Int? = nil,
                fusedProjection: Bool = false, projectionBias: Bool = false) {
        let inner = heads * headDimension
        self.heads = heads
        self.headDimension = headDimension
        if fusedProjection {
            precondition(contextDimension == nil || contextDimension == dimension,
                         "Attention: a fused q/k/v projection needs context width = dimension")
            toQueryKeyValue = Linear(inputSize: dimension, outputSize: 3 * inner, bias: projectionBias)
            toQuery = nil; toKey = nil; toValue = nil
        } else {
            toQueryKeyValue = nil
            toQuery = Linear(inputSize: dimension, outputSize: inner, bias: projectionBias)
            toKey = Linear(inputSize: contextDimension ?? dimension, outputSize: inner, bias: projectionBias)
            toValue = Linear(inputSize: contextDimension ?? dimension, outputSize: inner, bias: projectionBias)
        }
        toOut = Linear(inputSize: inner, outputSize: dimension)
        super.init()
    }

    /// The projections under their checkpoint names.
    public override var children: [(String, Module)] {
        var result: [(String, Module)] = []
        if let toQueryKeyValue { result.append(("to_qkv", toQueryKeyValue)) }
        if let toQuery, let toKey, let toValue {
            result += [("to_q", toQuery), ("to_k", toKey), ("to_v", toValue)]
        }
        result.append(("to_out", IndexedModules([toOut])))
        return result
    }

    /// `[B, T, heads·headDimension] → [B, heads, T, headDimension]`.
    private func splitHeads(_ x: Tensor) -> Tensor {
        x.reshaped([x.shape[0], x.shape[1], heads, headDimension]).permuted([0, 2, 1, 3])
    }

    /// Attends from `queries` `[B, L, dimension]` to `context` `[B, S, contextDimension]`
    /// (self-attention when `context` is `nil`), with an optional additive `mask`
    /// broadcastable to `[B, heads, L, S]`.
    public func callAsFunction(_ queries: Tensor, context: Tensor? = nil, mask: Tensor? = nil) -> Tensor {
        let inner = heads * headDimension
        let q: Tensor, k: Tensor, v: Tensor
        if let fused = toQueryKeyValue {
            let source = context ?? queries
            if context == nil {
                let parts = fused(queries).split(sizes: [inner, inner, inner], axis: -1)
                (q, k, v) = (parts[0], parts[1], parts[2])
            } else {
                // Keys and values from the context, queries from their own tokens (used to
                // evaluate a subset of queries, such as token 0 only).
                let kv = fused(source).split(sizes: [inner, inner, inner], axis: -1)
                let w = fused.weight.value.sliced(axis: 0, start: 0, end: inner)
                let b = fused.bias.map { $0.value.sliced(axis: 0, start: 0, end: inner) }
                (q, k, v) = (Tensor.linear(queries, weight: w, bias: b), kv[1], kv[2])
            }
        } else {
            q = toQuery!(queries)
            k = toKey!(context ?? queries)
            v = toValue!(context ?? queries)
        }
        let attended = Tensor.scaledDotProductAttention(
            query: splitHeads(q), key: splitHeads(k), value: splitHeads(v), mask: mask,
            scale: 1 / Float(headDimension).squareRoot(), queryChunkSize: queryChunkSize)
        let merged = attended.permuted([0, 2, 1, 3]).reshaped([queries.shape[0], queries.shape[1], inner])
        return toOut(merged)
    }
}
