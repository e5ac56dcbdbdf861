import Foundation

// Scaled dot-product attention (PyTorch's `F.scaled_dot_product_attention`), memory-bounded:
// queries are processed in chunks, so the score matrix never holds more than `chunk × S` floats.
// Forward per chunk: `scores = scale · Q Kᵀ` (sgemm), add the mask or the causal `-inf`s, softmax
// each row in place (keeping its log-sum-exp), `O = P V` (sgemm). Backward per chunk recomputes
// `P = exp(scores − lse)` and uses sgemm for dV, dP, dQ and dK.
// The naive reference (full matrices through `matmul` and `softmax`) sits at the end, for tests.

extension Tensor {
    /// Scaled dot-product attention, as PyTorch's `F.scaled_dot_product_attention`:
    /// `softmax(scale · Q Kᵀ + mask) V`.
    ///
    /// Queries are processed `queryChunkSize` rows at a time, so the scores held at once are at
    /// most `queryChunkSize × S`; the backward pass recomputes them chunk by chunk. A query row
    /// whose keys are all masked (all `-inf`) gives zeros, as PyTorch's CPU kernel does.
    ///
    /// - Parameters:
    ///   - query: `[…, L, E]`.
    ///   - key: `[…, S, E]`, the same batch axes as `query`.
    ///   - value: `[…, S, Ev]`, the same batch axes as `query`.
    ///   - mask: an additive float mask broadcastable to `[…, L, S]` (`-inf` hides a key); it
    ///     receives a gradient when it requires one.
    ///   - isCausal: hides key `j` from query `i` when `j > i` (top-left aligned, as PyTorch);
    ///     not allowed together with `mask`.
    ///   - scale: the factor on `Q Kᵀ`; `1/√E` when `nil`.
    ///   - queryChunkSize: the number of query rows processed at once.
    /// - Returns: `[…, L, Ev]`.
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                                 isCausal: Bool = false, scale: Float? = nil,
                                                 queryChunkSize: Int = 1024) -> Tensor {
        let geometry = AttentionGeometry(query: query, key: key, value: value, mask: mask, isCausal: isCausal,
                                         scale: scale, queryChunkSize: queryChunkSize)
        let out = Tensor(uninitializedShape: geometry.batchShape + [geometry.queryLength, geometry.valueWidth])
        let logSumExps = Tensor(uninitializedShape: [geometry.batchCount, geometry.queryLength])
        attentionForward(geometry, query: query, key: key, value: value, mask: mask, into: out, logSumExps: logSumExps)
        var inputs = [query, key, value]
        if let mask { inputs.append(mask) }
        let needs = inputs.map(\.requiresGradient), inputCount = inputs.count
        let q = query.detached(), k = key.detached(), v = value.detached(), m = mask?.detached()
        return record("scaledDotProductAttention", out, inputs: inputs) { g in
            let grads = attentionBackward(geometry, query: q, key: k, value: v, mask: m, logSumExps: logSumExps,
                                          gradient: g, needs: needs)
            return Array(grads.prefix(inputCount))
        }
    }

    /// The extents and strides an attention call works with, checked once.
    struct AttentionGeometry {
        let batchShape: [Int]
        let batchCount: Int, queryLength: Int, keyLength: Int, width: Int, valueWidth: Int
        let scale: Float, chunk: Int, isCausal: Bool
        /// Per batch element, the offset of its `[L, S]` mask slice; empty without a mask.
        let maskBatchOffsets: [Int]
        /// The mask's strides along the query and key axes (0 where broadcast).
        let maskRowStride: Int, maskColumnStride: Int

        init(query: Tensor, key: Tensor, value: Tensor, mask: Tensor?, isCausal: Bool, scale: Float?, queryChunkSize: Int) {
            let op = "scaledDotProductAttention"
            let rank = query.rank
            precondition(rank >= 2 && key.rank == rank && value.rank == rank,
                         "\(op): query \(query.shape), key \(key.shape) and value \(value.shape) must share a rank ≥ 2")
            batchShape = Array(query.shape.dropLast(2))
            precondition(Array(key.shape.dropLast(2)) == batchShape && Array(value.shape.dropLast(2)) == batchShape,
                         "\(op): batch axes differ: query \(query.shape), key \(key.shape), value \(value.shape)")
            queryLength = query.shape[rank - 2]
            width = query.shape[rank - 1]
            keyLength = key.shape[rank - 2]
            valueWidth = value.shape[rank - 1]
            precondition(key.shape[rank - 1] == width, "\(op): key \(key.shape) and query \(query.shape) differ in embedding width")
            precondition(value.shape[rank - 2] == keyLength, "\(op): value \(value.shape) and key \(key.shape) differ in sequence length")
            precondition(queryLength > 0 && keyLength > 0 && width > 0 && valueWidth > 0,
                         "\(op): empty query \(query.shape), key \(key.shape) or value \(value.shape)")
            precondition(queryChunkSize > 0, "\(op): queryChunkSize must be positive, got \(queryChunkSize)")
            precondition(!(isCausal && mask != nil), "\(op): an explicit mask cannot be combined with isCausal")
            batchCount = Shape.count(batchShape)
            self.scale = scale ?? 1 / Float(width).squareRoot()
            chunk = Swift.min(queryChunkSize, queryLength)
            self.isCausal = isCausal
            if let mask {
                let target = batchShape + [queryLength, keyLength]
                precondition(mask.rank <= target.count && Shape.broadcast(mask.shape, target, op: op) == target,
                             "\(op): mask \(mask.shape) does not broadcast to \(target)")
                let strides = Shape.broadcastStrides(mask.shape, to: target)
                maskRowStride = strides[target.count - 2]
                maskColumnStride = strides[target.count - 1]
                let batchExtents = batchShape, batchStrides = Shape.strides(batchShape)
                maskBatchOffsets = (0..<batchCount).map { b in
                    var offset = 0
                    for d in 0..<batchExtents.count { offset += (b / batchStrides[d]) % batchExtents[d] * strides[d] }
                    return offset
                }
            } else {
                maskBatchOffsets = []
                maskRowStride = 0
                maskColumnStride = 0
            }
        }

        /// Adds the mask (or the causal `-inf`s) to the scores of query rows `first..<first+rows`
        /// of batch element `batch`; `scores` is `[rows, S]`.
        func applyMask(_ scores: UnsafeMutablePointer<Float>, rows: Int, first: Int, batch: Int,
                       mask: UnsafePointer<Float>?) {
            let s = keyLength
            if let mask {
                let columnStride = maskColumnStride
                for i in 0..<rows {
                    let row = scores + i &* s
                    let maskRow = mask + (maskBatchOffsets[batch] &+ (first &+ i) &* maskRowStride)
                    var j = 0
                    while j < s { row[j] += maskRow[j &* columnStride]; j &+= 1 }
                }
            } else if isCausal {
                for i in 0..<rows {
                    let visible = first &+ i &+ 1
                    if visible >= s { continue }
                    (scores + i &* s + visible).update(repeating: -.infinity, count: s &- visible)
                }
            }
        }
    }

    /// The chunked forward: writes `out` `[B·L, Ev]` and the log-sum-exp of each score row.
    private static func attentionForward(_ geometry: AttentionGeometry, query: Tensor, key: Tensor, value: Tensor,
                                         mask: Tensor?, into out: Tensor, logSumExps: Tensor) {
        let l = geometry.queryLength, s = geometry.keyLength, e = geometry.width, ev = geometry.valueWidth
        let chunk = geometry.chunk
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: chunk * s)
        defer { scores.deallocate() }
        let pq = query.storage.baseAddress, pk = key.storage.baseAddress, pv = value.storage.baseAddress
        let po = out.storage.baseAddress, pl = logSumExps.storage.baseAddress
        let pm = mask.map { UnsafePointer($0.storage.baseAddress) }
        for b in 0..<geometry.batchCount {
            let q = pq + b &* l &* e, k = pk + b &* s &* e, v = pv + b &* s &* ev
            var first = 0
            while first < l {
                let rows = Swift.min(chunk, l - first)
                // [rows, E] · [S, E]ᵀ → [rows, S]
                gemm(q + first &* e, transposeA: false, k, transposeB: true, m: rows, n: s, k: e,
                     into: scores, alpha: geometry.scale)
                geometry.applyMask(scores, rows: rows, first: first, batch: b, mask: pm)
                let lse = pl + (b &* l &+ first)
                Parallel.forRanges(rows, minimumChunk: Swift.max(1, (1 << 13) / s)) { start, end in
                    for i in start..<end {
                        let row = scores + i &* s
                        let m = rowMaximum(row, s)
                        if m == -.infinity {
                            row.update(repeating: 0, count: s)
                            lse[i] = -.infinity
                            continue
                        }
                        let sum = exponentiate(row, shift: m, into: row, s)
                        let inverse = 1 / sum
                        var j = 0
                        while j < s { row[j] *= inverse; j &+= 1 }
                        lse[i] = m + Foundation.log(sum)
                    }
                }
                // [rows, S] · [S, Ev] → [rows, Ev]
                gemm(scores, transposeA: false, v, transposeB: false, m: rows, n: ev, k: s,
                     into: po + (b &* l &+ first) &* ev)
                first += rows
            }
        }
    }

    /// The chunked backward. Per chunk, with `P` recomputed from the saved log-sum-exps:
    /// `dV += Pᵀ dO`, `dP = dO Vᵀ`, `dS = P ⊙ (dP − rowsum(P ⊙ dP))`, `dQ = scale · dS K`,
    /// `dK += scale · dSᵀ Q`, `dMask += dS` (summed over broadcast axes).
    /// Returns gradients for query, key, value and mask (`nil` where `needs` is false).
    private static func attentionBackward(_ geometry: AttentionGeometry, query: Tensor, key: Tensor, value: Tensor,
                                          mask: Tensor?, logSumExps: Tensor, gradient: Tensor,
                                          needs: [Bool]) -> [Tensor?] {
        let l = geometry.queryLength, s = geometry.keyLength, e = geometry.width, ev = geometry.valueWidth
        let chunk = geometry.chunk, scale = geometry.scale
        let needQuery = needs[0], needKey = needs[1], needValue = needs[2]
        let needMask = needs.count > 3 && needs[3]
        let needScores = needQuery || needKey || needMask
        let dq = needQuery ? Tensor(uninitializedShape: query.shape) : nil
        let dk = needKey ? Tensor.zeros(key.shape) : nil
        let dv = needValue ? Tensor.zeros(value.shape) : nil
        let dm = needMask ? Tensor.zeros(mask!.shape) : nil
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: chunk * s)
        let scoreGradients = UnsafeMutablePointer<Float>.allocate(capacity: needScores ? chunk * s : 1)
        defer { probabilities.deallocate(); scoreGradients.deallocate() }
        let pq = query.storage.baseAddress, pk = key.storage.baseAddress, pv = value.storage.baseAddress
        let pg = gradient.storage.baseAddress, pl = logSumExps.storage.baseAddress
        let pm = mask.map { UnsafePointer($0.storage.baseAddress) }
        for b in 0..<geometry.batchCount {
            let q = pq + b &* l &* e, k = pk + b &* s &* e, v = pv + b &* s &* ev
            var first = 0
            while first < l {
                let rows = Swift.min(chunk, l - first)
                let gradientChunk = pg + (b &* l &+ first) &* ev
                let queryChunk = q + first &* e
                gemm(queryChunk, transposeA: false, k, transposeB: true, m: rows, n: s, k: e,
                     into: probabilities, alpha: scale)
                geometry.applyMask(probabilities, rows: rows, first: first, batch: b, mask: pm)
                let lse = pl + (b &* l &+ first)
                Parallel.forRanges(rows, minimumChunk: Swift.max(1, (1 << 13) / s)) { start, end in
                    for i in start..<end {
                        let row = probabilities + i &* s
                        if lse[i] == -.infinity { row.update(repeating: 0, count: s); continue }
                        exponentiate(row, shift: lse[i], into: row, s)
                    }
                }
                if let dv {
                    // [rows, S]ᵀ · [rows, Ev] → [S, Ev], accumulated over chunks
                    gemm(probabilities, transposeA: true, gradientChunk, transposeB: false, m: s, n: ev, k: rows,
                         into: dv.storage.baseAddress + b &* s &* ev, beta: 1)
                }
                if needScores {
                    // [rows, Ev] · [S, Ev]ᵀ → [rows, S]
                    gemm(gradientChunk, transposeA: false, v, transposeB: true, m: rows, n: s, k: ev, into: scoreGradients)
                    Parallel.forRanges(rows, minimumChunk: Swift.max(1, (1 << 14) / s)) { start, end in
                        for i in start..<end {
                            let p = probabilities + i &* s, d = scoreGradients + i &* s
                            let dot = dotProduct(p, d, s)
                            var j = 0
                            while j < s { d[j] = p[j] * (d[j] - dot); j &+= 1 }
                        }
                    }
                    if let dm {
                        let target = dm.storage.baseAddress + geometry.maskBatchOffsets[b]
                        let rowStride = geometry.maskRowStride, columnStride = geometry.maskColumnStride
                        for i in 0..<rows {
                            let d = scoreGradients + i &* s
                            let t = target + (first &+ i) &* rowStride
                            var j = 0
                            while j < s { t[j &* columnStride] += d[j]; j &+= 1 }
                        }
                    }
                    if let dq {
                        // [rows, S] · [S, E] → [rows, E]
                        gemm(scoreGradients, transposeA: false, k, transposeB: false, m: rows, n: e, k: s,
                             into: dq.storage.baseAddress + (b &* l &+ first) &* e, alpha: scale)
                    }
                    if let dk {
                        // [rows, S]ᵀ · [rows, E] → [S, E], accumulated over chunks
                        gemm(scoreGradients, transposeA: true, queryChunk, transposeB: false, m: s, n: e, k: rows,
                             into: dk.storage.baseAddress + b &* s &* e, alpha: scale, beta: 1)
                    }
                }
                first += rows
            }
        }
        return [dq, dk, dv, dm]
    }

    /// ``scaledDotProductAttention(query:key:value:mask:isCausal:scale:queryChunkSize:)`` with the
    /// full `[…, L, S]` score matrix through `matmul` and `softmax`, the naive reference for tests.
    /// Fully masked rows give NaN here (plain softmax), zeros in the chunked kernel.
    public static func referenceScaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                                          isCausal: Bool = false, scale: Float? = nil) -> Tensor {
        let width = query.shape[query.rank - 1]
        var scores = matmul(query, key, transposeB: true) * (scale ?? 1 / Float(width).squareRoot())
        if let mask { scores = scores + mask }
        if isCausal {
            let l = query.shape[query.rank - 2], s = key.shape[key.rank - 2]
            var causal = Tensor.zeros([l, s])
            causal.withUnsafeMutableBufferPointer { p in
                for i in 0..<l { for j in 0..<s where j > i { p[i * s + j] = -.infinity } }
            }
            scores = scores + causal
        }
        return matmul(scores.softmax(alongAxis: -1), value)
    }
}
