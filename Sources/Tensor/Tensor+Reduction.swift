import Foundation

// Reductions over any set of axes with `keepingDimensions`. Each reduces one axis at a time as
// `[outer, n, inner] → [outer, inner]`: rows are summed with SIMD accumulators when `inner == 1`,
// and whole `inner`-long rows are added (vectorised) otherwise.

extension Tensor {
    @usableFromInline
    enum ReductionKind { case sum, max, min }

    /// Reduces one axis without autodiff. `kind` picks the combining function.
    @usableFromInline
    func reduceAxis(_ axis: Int, _ kind: ReductionKind) -> Tensor {
        let n = shape[axis]
        precondition(n > 0 || kind == .sum, "\(kind) reduction over axis \(axis) of empty shape \(shape)")
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        var newShape = shape
        newShape[axis] = 1
        let out = Tensor(uninitializedShape: newShape)
        let pi = storage.baseAddress
        let po = SendablePointer(out.storage.baseAddress)
        if inner == 1 {
            Parallel.forRanges(outer, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(n, 1))) { s, e in
                for o in s..<e {
                    let row = pi + o &* n
                    switch kind {
                    case .sum: po.pointer[o] = Tensor.simdSum(row, n)
                    case .max:
                        var m = row[0]; var j = 1
                        while j < n { let v = row[j]; if v > m || v.isNaN { m = v }; j &+= 1 }
                        po.pointer[o] = m
                    case .min:
                        var m = row[0]; var j = 1
                        while j < n { let v = row[j]; if v < m || v.isNaN { m = v }; j &+= 1 }
                        po.pointer[o] = m
                    }
                }
            }
        } else {
            Parallel.forRanges(outer, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(n &* inner, 1))) { s, e in
                for o in s..<e {
                    let dst = po.pointer + o &* inner
                    let src = pi + o &* n &* inner
                    if n == 0 { dst.initialize(repeating: 0, count: inner); continue }
                    dst.update(from: src, count: inner)
                    for r in 1..<Swift.max(n, 1) {
                        let row = src + r &* inner
                        var j = 0
                        switch kind {
                        case .sum: while j < inner { dst[j] += row[j]; j &+= 1 }
                        case .max: while j < inner { let v = row[j]; if v > dst[j] || v.isNaN { dst[j] = v }; j &+= 1 }
                        case .min: while j < inner { let v = row[j]; if v < dst[j] || v.isNaN { dst[j] = v }; j &+= 1 }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Sum of `count` contiguous floats with SIMD16 accumulators.
    @inlinable
    public static func simdSum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i &+ 32 <= count {
            acc0 += raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            acc1 += raw.loadUnaligned(fromByteOffset: (i &+ 16) &* 4, as: SIMD16<Float>.self)
            i &+= 32
        }
        var s = (acc0 + acc1).sum()
        while i < count { s += p[i]; i &+= 1 }
        return s
    }

    /// Reduces the normalised `axes` one at a time, then drops them unless `keep`.
    func reduce(_ axes: [Int], keep: Bool, _ kind: ReductionKind) -> Tensor {
        var out = self.detached()
        for a in axes.reversed() { out = out.reduceAxis(a, kind) }
        if !keep { out.shape = shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element) }
        return out
    }

    /// Sum over `axes` (all axes when empty).
    public func sum(alongAxes axes: [Int] = [], keepingDimensions keep: Bool = false) -> Tensor {
        let ax = Shape.normalize(axes: axes, rank: rank, op: "sum")
        let out = reduce(ax, keep: keep, .sum)
        let original = shape
        return Tensor.record("sum", out, inputs: [self]) { g in
            [g.reshaped(Tensor.keptShape(original, ax)).expanded(to: original)]
        }
    }

    /// Mean over `axes` (all axes when empty).
    public func mean(alongAxes axes: [Int] = [], keepingDimensions keep: Bool = false) -> Tensor {
        let ax = Shape.normalize(axes: axes, rank: rank, op: "mean")
        let n = ax.reduce(1) { $0 * shape[$1] }
        precondition(n > 0, "mean: reduction over an empty axis of shape \(shape)")
        return sum(alongAxes: ax, keepingDimensions: keep) / Float(n)
    }

    /// Variance over `axes` with Bessel's `correction` (1: unbiased, PyTorch's default; 0: population).
    public func variance(alongAxes axes: [Int] = [], correction: Int = 1, keepingDimensions keep: Bool = false) -> Tensor {
        let ax = Shape.normalize(axes: axes, rank: rank, op: "variance")
        let n = ax.reduce(1) { $0 * shape[$1] }
        precondition(n - correction > 0, "variance: \(n) elements with correction \(correction) in shape \(shape)")
        let centered = self - mean(alongAxes: ax, keepingDimensions: true)
        return centered.square().sum(alongAxes: ax, keepingDimensions: keep) / Float(n - correction)
    }

    /// Maximum over `axes`; ties share the gradient evenly (PyTorch's `amax`). NaN propagates.
    public func max(alongAxes axes: [Int] = [], keepingDimensions keep: Bool = false) -> Tensor {
        extremum(axes, keep, .max, "max")
    }

    /// Minimum over `axes`; ties share the gradient evenly (PyTorch's `amin`). NaN propagates.
    public func min(alongAxes axes: [Int] = [], keepingDimensions keep: Bool = false) -> Tensor {
        extremum(axes, keep, .min, "min")
    }

    private func extremum(_ axes: [Int], _ keep: Bool, _ kind: ReductionKind, _ name: String) -> Tensor {
        precondition(count > 0, "\(name): empty tensor of shape \(shape)")
        let ax = Shape.normalize(axes: axes, rank: rank, op: name)
        let out = reduce(ax, keep: keep, kind)
        let x = detached(), original = shape
        return Tensor.record(name, out, inputs: [self]) { g in
            let kept = Tensor.keptShape(original, ax)
            let mask = Tensor.broadcastMap(x, out.reshaped(kept), op: name) { $0 == $1 ? 1 : 0 }
            let ties = mask.sum(alongAxes: ax, keepingDimensions: true)
            return [mask * (g.reshaped(kept) / ties)]
        }
    }

    /// Index of the largest element along `axis` (first on ties), in row-major order of the
    /// result shape (the input shape without `axis`).
    public func argmax(alongAxis axis: Int) -> [Int] {
        let a = Shape.normalize(axis: axis, rank: rank, op: "argmax")
        let n = shape[a]
        precondition(n > 0, "argmax: axis \(a) of shape \(shape) is empty")
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var result = [Int](repeating: 0, count: outer * inner)
        let p = storage.baseAddress
        for o in 0..<outer {
            for i in 0..<inner {
                var best = p[o * n * inner + i], arg = 0
                for r in 1..<n {
                    let v = p[(o * n + r) * inner + i]
                    if v > best || (v.isNaN && !best.isNaN) { best = v; arg = r }
                }
                result[o * inner + i] = arg
            }
        }
        return result
    }

    /// `log Σ exp(x)` over `axes`, computed stably by subtracting the maximum.
    public func logSumExp(alongAxes axes: [Int] = [], keepingDimensions keep: Bool = false) -> Tensor {
        let ax = Shape.normalize(axes: axes, rank: rank, op: "logSumExp")
        let m = detached().max(alongAxes: ax, keepingDimensions: true).map { $0.isFinite ? $0 : 0 }
        let s = (self - m).exp().sum(alongAxes: ax, keepingDimensions: true).log() + m
        return keep ? s : s.reshaped(shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element))
    }

    /// The p-norm over `axes` (Euclidean by default); the gradient at a zero norm is 0.
    public func norm(_ p: Float = 2, alongAxes axes: [Int] = [], keepingDimensions keep: Bool = false) -> Tensor {
        let ax = Shape.normalize(axes: axes, rank: rank, op: "norm")
        precondition(p >= 1, "norm: p must be at least 1, got \(p)")
        if p == 2 {
            let x = detached()
            let out = x.square().sum(alongAxes: ax, keepingDimensions: keep).sqrt()
            let original = shape
            return Tensor.record("norm", out, inputs: [self]) { g in
                let kept = Tensor.keptShape(original, ax)
                let nk = out.reshaped(kept)
                let scale = (g.reshaped(kept) / nk).map { $0.isFinite ? $0 : 0 }
                return [x * scale]
            }
        }
        return abs().pow(p).sum(alongAxes: ax, keepingDimensions: keep).pow(1 / p)
    }

    /// `shape` with the reduced `axes` set to 1.
    static func keptShape(_ shape: [Int], _ axes: [Int]) -> [Int] {
        var s = shape
        for a in axes { s[a] = 1 }
        return s
    }
}
