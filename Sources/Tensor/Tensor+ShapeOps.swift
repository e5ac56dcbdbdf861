// Shape operations: reshape, permute, squeeze/unsqueeze, expand, slice, gather, concat, stack,
// split, pad, flip. Each returns a contiguous tensor; pullbacks side by side.

extension Tensor {
    /// The same elements under a new shape; one extent may be `-1` (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            precondition(newShape.filter { $0 == -1 }.count == 1, "reshaped: more than one -1 in \(newShape)")
            let known = newShape.enumerated().reduce(1) { $1.offset == inferred ? $0 : $0 * $1.element }
            precondition(known > 0 && count % known == 0,
                         "reshaped: cannot infer -1 in \(newShape) for \(count) elements (shape \(shape))")
            resolved[inferred] = count / known
        }
        Shape.validate(resolved, op: "reshaped")
        precondition(Shape.count(resolved) == count,
                     "reshaped: shape \(shape) (\(count) elements) cannot become \(newShape)")
        let original = shape
        let out = Tensor(storage: storage, shape: resolved)
        return Tensor.record("reshape", out, inputs: [self]) { g in [g.reshaped(original)] }
    }

    /// Collapses dimensions `start...end` into one (PyTorch's `flatten`).
    public func flattened(from start: Int = 0, through end: Int = -1) -> Tensor {
        if rank == 0 { return reshaped([1]) }
        let s = Shape.normalize(axis: start, rank: rank, op: "flattened")
        let e = Shape.normalize(axis: end, rank: rank, op: "flattened")
        precondition(s <= e, "flattened: start axis \(start) after end axis \(end)")
        let merged = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
    }

    /// Inserts an axis of extent 1 at `axis` (which may be `rank`, or negative).
    public func unsqueezed(at axis: Int) -> Tensor {
        let a = Shape.normalize(axis: axis, rank: rank + 1, op: "unsqueezed")
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes axes of extent 1: the given ones (each must have extent 1), or all of them.
    public func squeezed(at axes: [Int] = []) -> Tensor {
        if axes.isEmpty { return reshaped(shape.filter { $0 != 1 }) }
        let normalized = Set(axes.map { Shape.normalize(axis: $0, rank: rank, op: "squeezed") })
        for a in normalized {
            precondition(shape[a] == 1, "squeezed: axis \(a) of shape \(shape) has extent \(shape[a]), not 1")
        }
        return reshaped(shape.enumerated().filter { !normalized.contains($0.offset) }.map(\.element))
    }

    /// Reorders the axes: result axis `i` is input axis `permutation[i]`.
    public func permuted(_ permutation: [Int]) -> Tensor {
        precondition(permutation.count == rank, "permuted: permutation \(permutation) for rank-\(rank) shape \(shape)")
        let perm = permutation.map { Shape.normalize(axis: $0, rank: rank, op: "permuted") }
        precondition(Set(perm).count == rank, "permuted: \(permutation) is not a permutation")
        let newShape = perm.map { shape[$0] }
        if perm == Array(0..<rank) { return Tensor.record("permute", Tensor(storage: storage, shape: shape), inputs: [self]) { [$0] } }
        let out = Tensor(uninitializedShape: newShape)
        let inStrides = Shape.strides(shape)
        let srcStrides = perm.map { inStrides[$0] }
        let pi = storage.baseAddress, po = out.storage.baseAddress
        let r = rank
        let inner = newShape[r - 1], innerStride = srcStrides[r - 1]
        let rows = inner == 0 ? 0 : out.count / inner
        var index = [Int](repeating: 0, count: r)
        var src = 0
        for row in 0..<rows {
            let o = po + row &* inner
            var j = 0, s = src
            while j < inner { o[j] = pi[s]; s &+= innerStride; j &+= 1 }
            var d = r - 2
            while d >= 0 {
                index[d] += 1; src &+= srcStrides[d]
                if index[d] < newShape[d] { break }
                src &-= srcStrides[d] &* newShape[d]; index[d] = 0; d -= 1
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        return Tensor.record("permute", out, inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two axes (materialised; matrix products take transposes as flags instead).
    public func transposed(_ axis0: Int = -2, _ axis1: Int = -1) -> Tensor {
        var perm = Array(0..<rank)
        let a = Shape.normalize(axis: axis0, rank: rank, op: "transposed")
        let b = Shape.normalize(axis: axis1, rank: rank, op: "transposed")
        perm.swapAt(a, b)
        return permuted(perm)
    }

    /// Broadcasts to `target` (NumPy rules), materialising the copies.
    public func expanded(to target: [Int]) -> Tensor {
        let s = Shape.broadcast(shape, target, op: "expanded")
        precondition(s == target, "expanded: shape \(shape) cannot expand to \(target)")
        if shape == target { return self }
        let original = shape
        let out = Tensor.broadcastMap(detached(), Tensor(repeating: 0, shape: target), op: "expanded") { x, _ in x }
        return Tensor.record("expand", out, inputs: [self]) { g in [Tensor.unbroadcast(g, to: original)] }
    }

    /// Elements `start..<end` (every `step`-th) along `axis`; bounds are clamped as in Python.
    public func sliced(axis: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
        let a = Shape.normalize(axis: axis, rank: rank, op: "sliced")
        precondition(step > 0, "sliced: step must be positive, got \(step)")
        let n = shape[a]
        func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + n : v, 0), n) }
        let s = clamp(start), e = clamp(end ?? n)
        let indices = s < e ? Array(stride(from: s, to: e, by: step)) : []
        return indexSelected(axis: a, indices: indices)
    }

    /// The entries at `indices` along `axis` (PyTorch's `index_select`); indices may repeat.
    public func indexSelected(axis: Int, indices: [Int]) -> Tensor {
        let a = Shape.normalize(axis: axis, rank: rank, op: "indexSelected")
        let n = shape[a]
        for i in indices where i < 0 || i >= n {
            preconditionFailure("indexSelected: index \(i) out of range 0..<\(n) for axis \(a) of shape \(shape)")
        }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var newShape = shape
        newShape[a] = indices.count
        let out = Tensor(uninitializedShape: newShape)
        let pi = storage.baseAddress, po = out.storage.baseAddress
        for o in 0..<outer {
            for (k, i) in indices.enumerated() {
                (po + (o &* indices.count &+ k) &* inner).update(from: pi + (o &* n &+ i) &* inner, count: inner)
            }
        }
        let original = shape
        return Tensor.record("indexSelect", out, inputs: [self]) { g in
            var grad = Tensor(repeating: 0, shape: original)
            let pg = g.storage.baseAddress, pd = grad.storage.baseAddress
            for o in 0..<outer {
                for (k, i) in indices.enumerated() {
                    let d = pd + (o &* n &+ i) &* inner, s = pg + (o &* indices.count &+ k) &* inner
                    for j in 0..<inner { d[j] += s[j] }
                }
            }
            grad.shape = original
            return [grad]
        }
    }

    /// PyTorch's `gather`: `out[…, i, …] = self[…, index[…, i, …], …]` along `axis`, where
    /// `indices` (row-major, of `indexShape`) has this tensor's rank and extents no larger than
    /// it on the other axes.
    public func gathered(axis: Int, indices: [Int], indexShape: [Int]) -> Tensor {
        let a = Shape.normalize(axis: axis, rank: rank, op: "gathered")
        precondition(indexShape.count == rank, "gathered: index shape \(indexShape) has rank \(indexShape.count), tensor shape \(shape) has rank \(rank)")
        precondition(Shape.count(indexShape) == indices.count, "gathered: \(indices.count) indices for index shape \(indexShape)")
        for d in 0..<rank where d != a && indexShape[d] > shape[d] {
            preconditionFailure("gathered: index shape \(indexShape) exceeds tensor shape \(shape) on axis \(d)")
        }
        let strides = Shape.strides(shape), iStrides = Shape.strides(indexShape)
        var offsets = [Int](repeating: 0, count: indices.count)
        for flat in 0..<indices.count {
            var rem = flat, off = 0
            for d in 0..<rank {
                let c = rem / iStrides[d]; rem %= iStrides[d]
                if d == a {
                    let i = indices[flat]
                    precondition(i >= 0 && i < shape[a], "gathered: index \(i) out of range 0..<\(shape[a]) on axis \(a)")
                    off += i * strides[d]
                } else {
                    off += c * strides[d]
                }
            }
            offsets[flat] = off
        }
        let out = Tensor(uninitializedShape: indexShape)
        let pi = storage.baseAddress, po = out.storage.baseAddress
        for (k, off) in offsets.enumerated() { po[k] = pi[off] }
        let original = shape
        return Tensor.record("gather", out, inputs: [self]) { g in
            var grad = Tensor(repeating: 0, shape: original)
            let pg = g.storage.baseAddress, pd = grad.storage.baseAddress
            for (k, off) in offsets.enumerated() { pd[off] += pg[k] }
            grad.shape = original
            return [grad]
        }
    }

    /// Joins tensors along an existing `axis`; all other extents must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: no tensors given")
        let first = tensors[0]
        let a = Shape.normalize(axis: axis, rank: first.rank, op: "concatenate")
        for t in tensors {
            precondition(t.rank == first.rank && t.shape.enumerated().allSatisfy { $0.offset == a || $0.element == first.shape[$0.offset] },
                         "concatenate: shape \(t.shape) does not match \(first.shape) outside axis \(a)")
        }
        let extents = tensors.map { $0.shape[a] }
        let total = extents.reduce(0, +)
        var newShape = first.shape
        newShape[a] = total
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: newShape)
        let po = out.storage.baseAddress
        var offset = 0
        for (t, e) in zip(tensors, extents) {
            let pt = t.storage.baseAddress
            for o in 0..<outer {
                (po + (o &* total &+ offset) &* inner).update(from: pt + o &* e &* inner, count: e &* inner)
            }
            offset += e
        }
        return record("concatenate", out, inputs: tensors) { g in
            var start = 0
            return zip(tensors, extents).map { t, e in
                defer { start += e }
                return t.requiresGradient ? g.sliced(axis: a, start: start, end: start + e) : nil
            }
        }
    }

    /// Joins equally shaped tensors along a new `axis`.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack: no tensors given")
        let a = Shape.normalize(axis: axis, rank: tensors[0].rank + 1, op: "stack")
        for t in tensors {
            precondition(t.shape == tensors[0].shape, "stack: shape \(t.shape) differs from \(tensors[0].shape)")
        }
        return concatenate(tensors.map { $0.unsqueezed(at: a) }, axis: a)
    }

    /// Splits along `axis` into pieces of the given extents (which must add up to the axis).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = Shape.normalize(axis: axis, rank: rank, op: "split")
        precondition(sizes.reduce(0, +) == shape[a] && sizes.allSatisfy { $0 >= 0 },
                     "split: sizes \(sizes) do not add up to extent \(shape[a]) of axis \(a) in \(shape)")
        var start = 0
        return sizes.map { s in
            defer { start += s }
            return sliced(axis: a, start: start, end: start + s)
        }
    }

    /// Splits along `axis` into `chunks` pieces of extent ⌈n/chunks⌉ (the last may be smaller),
    /// as PyTorch's `chunk`.
    public func chunked(_ chunks: Int, axis: Int) -> [Tensor] {
        precondition(chunks > 0, "chunked: chunk count must be positive, got \(chunks)")
        let a = Shape.normalize(axis: axis, rank: rank, op: "chunked")
        let n = shape[a]
        let size = Swift.max(1, (n + chunks - 1) / chunks)
        var sizes: [Int] = []
        var left = n
        while left > 0 { sizes.append(Swift.min(size, left)); left -= size }
        return split(sizes: sizes.isEmpty ? [0] : sizes, axis: a)
    }

    /// Pads with `value`: `padding[i] = (before, after)` for axis `i` (all axes, in order).
    public func padded(_ padding: [(before: Int, after: Int)], value: Float = 0) -> Tensor {
        precondition(padding.count == rank, "padded: \(padding.count) pad pairs for rank-\(rank) shape \(shape)")
        for p in padding where p.before < 0 || p.after < 0 {
            preconditionFailure("padded: negative padding \(p) (use sliced to crop)")
        }
        let newShape = zip(shape, padding).map { $0 + $1.before + $1.after }
        let out = Tensor(repeating: value, shape: newShape)
        if count > 0 {
            let outStrides = Shape.strides(newShape)
            let base = zip(padding, outStrides).reduce(0) { $0 + $1.0.before * $1.1 }
            let inner = shape[rank - 1]
            let rows = count / inner
            let pi = storage.baseAddress, po = out.storage.baseAddress
            var index = [Int](repeating: 0, count: rank)
            var dst = base
            for row in 0..<rows {
                (po + dst).update(from: pi + row &* inner, count: inner)
                var d = rank - 2
                while d >= 0 {
                    index[d] += 1; dst += outStrides[d]
                    if index[d] < shape[d] { break }
                    dst -= outStrides[d] * shape[d]; index[d] = 0; d -= 1
                }
            }
        }
        let original = shape
        return Tensor.record("pad", out, inputs: [self]) { g in
            var r = g
            for (axis, p) in padding.enumerated() where p.before > 0 || p.after > 0 {
                r = r.sliced(axis: axis, start: p.before, end: p.before + original[axis])
            }
            return [r]
        }
    }

    /// Reverses the order of elements along each of `axes`.
    public func flipped(axes: [Int]) -> Tensor {
        var out = self
        for a in Shape.normalize(axes: axes, rank: rank, op: "flipped") {
            out = out.indexSelected(axis: a, indices: Array((0..<shape[a]).reversed()))
        }
        return out
    }
}
