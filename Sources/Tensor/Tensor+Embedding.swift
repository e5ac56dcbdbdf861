// Embedding lookup (row gather with a scatter-add gradient) and inverted dropout.

extension Tensor {
    /// Looks up rows of `weight` by index, as PyTorch's `F.embedding`: the result at position `p`
    /// of the index array is row `indices[p]` of `weight`. The gradient is scatter-added into
    /// the rows of `weight` (an index that repeats accumulates).
    ///
    /// - Parameters:
    ///   - indices: row indices into `weight`, in row-major order of `indexShape`; each in `0..<V`.
    ///   - indexShape: the shape of the index array, e.g. `[B, T]`.
    ///   - weight: the table `[V, D]`.
    /// - Returns: `indexShape + [D]`.
    public static func embedding(indices: [Int], indexShape: [Int], weight: Tensor) -> Tensor {
        precondition(weight.rank == 2, "embedding: weight must be [V, D], got \(weight.shape)")
        Shape.validate(indexShape, op: "embedding")
        precondition(Shape.count(indexShape) == indices.count,
                     "embedding: \(indices.count) indices for index shape \(indexShape)")
        let vocabulary = weight.shape[0], width = weight.shape[1]
        for (position, index) in indices.enumerated() where index < 0 || index >= vocabulary {
            preconditionFailure("embedding: index \(index) at position \(position) is out of range for vocabulary size \(vocabulary)")
        }
        let out = Tensor(uninitializedShape: indexShape + [width])
        let pw = weight.storage.baseAddress, po = out.storage.baseAddress
        indices.withUnsafeBufferPointer { ids in
            Parallel.forRanges(ids.count, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(width, 1))) { start, end in
                for p in start..<end { (po + p &* width).update(from: pw + ids[p] &* width, count: width) }
            }
        }
        let weightShape = weight.shape
        return record("embedding", out, inputs: [weight]) { g in
            let dw = Tensor.zeros(weightShape)
            let pd = dw.storage.baseAddress, pg = g.storage.baseAddress
            for (p, index) in indices.enumerated() {
                let source = pg + p &* width, target = pd + index &* width
                var j = 0
                while j < width { target[j] += source[j]; j &+= 1 }
            }
            return [dw]
        }
    }

    /// Inverted dropout, as PyTorch's `F.dropout` in training mode: each element is zeroed with
    /// probability `probability` and the kept ones are scaled by `1 / (1 − probability)`, so the
    /// expectation is unchanged. The gradient flows through the same mask and scale.
    ///
    /// `probability == 0` returns `self` unchanged; `probability == 1` gives zeros. The mask is
    /// drawn from `generator`, element by element in row-major order (it does not reproduce
    /// PyTorch's random stream).
    ///
    /// - Parameters:
    ///   - probability: the chance of zeroing an element, in `[0, 1]`.
    ///   - generator: the source of randomness.
    /// - Returns: a tensor shaped like `self`.
    public func dropout(probability: Float, using generator: inout some RandomNumberGenerator) -> Tensor {
        precondition(probability >= 0 && probability <= 1, "dropout: probability \(probability) is outside [0, 1]")
        if probability == 0 { return self }
        let shape = self.shape
        if probability == 1 {
            return Tensor.record("dropout", Tensor.zeros(shape), inputs: [self]) { _ in [Tensor.zeros(shape)] }
        }
        // An element is dropped when a uniform 32-bit draw falls below probability · 2³²;
        // one 64-bit draw serves two elements.
        let threshold = UInt64((Double(probability) * 4_294_967_296).rounded())
        let keptScale = 1 / (1 - probability)
        let mask = Tensor(uninitializedShape: shape)
        let pm = mask.storage.baseAddress
        var i = 0
        while i < count {
            let bits = generator.next()
            pm[i] = (bits & 0xFFFF_FFFF) < threshold ? 0 : keptScale
            if i &+ 1 < count { pm[i &+ 1] = (bits >> 32) < threshold ? 0 : keptScale }
            i &+= 2
        }
        let out = Tensor.broadcastMap(detached(), mask, op: "dropout") { $0 * $1 }
        return Tensor.record("dropout", out, inputs: [self]) { g in
            [Tensor.broadcastMap(g, mask, op: "dropout") { $0 * $1 }]
        }
    }
}
