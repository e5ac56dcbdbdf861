import Foundation

// Softmax and log-softmax along one axis, stable (the maximum is subtracted first), with fused
// backward passes. The axis splits the tensor as `[outer, n, inner]`: when `inner == 1` each
// softmax is a contiguous row; otherwise blocks of up to 256 neighbouring columns are processed
// together, vectorised across the inner axis. Exponentials of non-positive arguments go through
// a SIMD polynomial (Cephes' `expf`), which the attention kernels share.
// The composed references (`max`, `exp`, `sum`, `logSumExp`) sit at the end, for tests.

extension Tensor {
    /// The softmax along `axis`: `exp(x − max) / Σ exp(x − max)`, as PyTorch's
    /// `torch.softmax(x, dim: axis)`. A slice that is entirely `-inf` gives NaN, as in PyTorch.
    ///
    /// - Parameter axis: the axis normalised over (negative counts from the end).
    /// - Returns: a tensor shaped like `self` whose slices along `axis` sum to 1.
    public func softmax(alongAxis axis: Int = -1) -> Tensor {
        softmaxFamily(axis, logarithm: false)
    }

    /// The log-softmax along `axis`: `x − max − log Σ exp(x − max)`, as PyTorch's
    /// `torch.log_softmax(x, dim: axis)`.
    ///
    /// - Parameter axis: the axis normalised over (negative counts from the end).
    /// - Returns: a tensor shaped like `self`.
    public func logSoftmax(alongAxis axis: Int = -1) -> Tensor {
        softmaxFamily(axis, logarithm: true)
    }

    /// The shared forward and pullback of `softmax` (`logarithm == false`) and `logSoftmax`.
    private func softmaxFamily(_ axis: Int, logarithm: Bool) -> Tensor {
        let name = logarithm ? "logSoftmax" : "softmax"
        let dims = rank == 0 ? [1] : shape
        let a = Shape.normalize(axis: axis, rank: dims.count, op: name)
        let n = dims[a]
        precondition(n > 0, "\(name): axis \(axis) of shape \(shape) is empty")
        let outer = dims[..<a].reduce(1, *), inner = dims[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: shape)
        Tensor.softmaxForward(storage.baseAddress, out.storage.baseAddress,
                              outer: outer, n: n, inner: inner, logarithm: logarithm)
        return Tensor.record(name, out, inputs: [self]) { g in
            let dx = Tensor(uninitializedShape: out.shape)
            Tensor.softmaxBackward(output: out.storage.baseAddress, gradient: g.storage.baseAddress,
                                   into: dx.storage.baseAddress, outer: outer, n: n, inner: inner, logarithm: logarithm)
            return [dx]
        }
    }

    /// The widest block of columns processed together when the softmax axis is not the last.
    private static let softmaxColumnBlock = 256

    /// Forward kernel over `[outer, n, inner]`, normalising along `n`. Contiguous rows
    /// (`inner == 1`) go to the C kernel of `level` when this CPU has it, which streams the output
    /// around the caches when `streaming` (by default: from ``Kernels/streamingFloats`` elements on).
    static func softmaxForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                               outer: Int, n: Int, inner: Int, logarithm: Bool,
                               level: KernelLevel = Kernels.activeLevel, streaming: Bool? = nil) {
        if inner == 1, let kernel = (level == Kernels.activeLevel ? Kernels.active : Kernels.table(level))?.softmaxRows {
            let source = SendablePointer(UnsafeMutablePointer(mutating: x)), destination = SendablePointer(y)
            let stream: Int32 = streaming ?? (outer &* n >= Kernels.streamingFloats) ? 1 : 0
            Parallel.forRanges(outer, minimumChunk: Swift.max(1, (1 << 13) / n)) { start, end in
                kernel(source.pointer + start &* n, destination.pointer + start &* n, end &- start, n, logarithm ? 1 : 0, stream)
            }
            return
        }
        if inner == 1 {
            Parallel.forRanges(outer, minimumChunk: Swift.max(1, (1 << 13) / n)) { start, end in
                for row in start..<end {
                    let xr = x + row &* n, yr = y + row &* n
                    let m = rowMaximum(xr, n)
                    let sum = exponentiate(xr, shift: m, into: yr, n)
                    if logarithm {
                        let logSum = Foundation.log(sum)
                        var j = 0
                        while j < n { yr[j] = (xr[j] - m) - logSum; j &+= 1 }
                    } else {
                        let scale = 1 / sum
                        var j = 0
                        while j < n { yr[j] *= scale; j &+= 1 }
                    }
                }
            }
            return
        }
        let block = softmaxColumnBlock
        let blocks = (inner + block - 1) / block
        Parallel.forRanges(outer * blocks, minimumChunk: Swift.max(1, (1 << 13) / (n * block))) { start, end in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * block) { scratch in
                let maxima = scratch.baseAddress!, sums = maxima + block
                for unit in start..<end {
                    let o = unit / blocks, first = (unit % blocks) &* block
                    let width = Swift.min(block, inner &- first)
                    let base = o &* n &* inner &+ first
                    maxima.update(from: x + base, count: width)
                    for r in 1..<n {
                        let xr = x + (base &+ r &* inner)
                        var i = 0
                        while i < width { let v = xr[i]; if v > maxima[i] || v.isNaN { maxima[i] = v }; i &+= 1 }
                    }
                    sums.update(repeating: 0, count: width)
                    for r in 0..<n {
                        let offset = base &+ r &* inner
                        exponentiateLanes(x + offset, shifts: maxima, into: y + offset, accumulating: sums, width)
                    }
                    if logarithm {
                        var i = 0
                        while i < width { sums[i] = Foundation.log(sums[i]); i &+= 1 }
                        for r in 0..<n {
                            let offset = base &+ r &* inner
                            let xr = x + offset, yr = y + offset
                            i = 0
                            while i < width { yr[i] = (xr[i] - maxima[i]) - sums[i]; i &+= 1 }
                        }
                    } else {
                        var i = 0
                        while i < width { sums[i] = 1 / sums[i]; i &+= 1 }
                        for r in 0..<n {
                            let yr = y + (base &+ r &* inner)
                            i = 0
                            while i < width { yr[i] *= sums[i]; i &+= 1 }
                        }
                    }
                }
            }
        }
    }

    /// Backward kernel over `[outer, n, inner]` from the forward's output `y`:
    /// softmax `dx = y ⊙ (g − Σ g ⊙ y)`; log-softmax `dx = g − exp(y) · Σ g`.
    static func softmaxBackward(output y: UnsafePointer<Float>, gradient g: UnsafePointer<Float>,
                                into dx: UnsafeMutablePointer<Float>, outer: Int, n: Int, inner: Int, logarithm: Bool) {
        if inner == 1 {
            Parallel.forRanges(outer, minimumChunk: Swift.max(1, (1 << 13) / n)) { start, end in
                for row in start..<end {
                    let yr = y + row &* n, gr = g + row &* n, dr = dx + row &* n
                    if logarithm {
                        let total = simdSum(gr, n)
                        exponentiate(yr, shift: 0, into: dr, n)
                        var j = 0
                        while j < n { dr[j] = gr[j] - dr[j] * total; j &+= 1 }
                    } else {
                        let dot = dotProduct(gr, yr, n)
                        var j = 0
                        while j < n { dr[j] = yr[j] * (gr[j] - dot); j &+= 1 }
                    }
                }
            }
            return
        }
        let block = softmaxColumnBlock
        let blocks = (inner + block - 1) / block
        Parallel.forRanges(outer * blocks, minimumChunk: Swift.max(1, (1 << 13) / (n * block))) { start, end in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { scratch in
                let sums = scratch.baseAddress!
                for unit in start..<end {
                    let o = unit / blocks, first = (unit % blocks) &* block
                    let width = Swift.min(block, inner &- first)
                    let base = o &* n &* inner &+ first
                    sums.update(repeating: 0, count: width)
                    for r in 0..<n {
                        let offset = base &+ r &* inner
                        let yr = y + offset, gr = g + offset
                        var i = 0
                        if logarithm {
                            while i < width { sums[i] += gr[i]; i &+= 1 }
                        } else {
                            while i < width { sums[i] += gr[i] * yr[i]; i &+= 1 }
                        }
                    }
                    for r in 0..<n {
                        let offset = base &+ r &* inner
                        let yr = y + offset, gr = g + offset, dr = dx + offset
                        var i = 0
                        if logarithm {
                            exponentiate(yr, shift: 0, into: dr, width)
                            while i < width { dr[i] = gr[i] - dr[i] * sums[i]; i &+= 1 }
                        } else {
                            while i < width { dr[i] = yr[i] * (gr[i] - sums[i]); i &+= 1 }
                        }
                    }
                }
            }
        }
    }

    /// The largest of `count ≥ 1` contiguous floats, ignoring NaN (a NaN in a softmax row still
    /// makes the whole row NaN, through its sum). `-inf` when every element is `-inf`.
    static func rowMaximum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        var j = 0
        var m = p[0]
        if count >= 16 {
            var acc = load16(p, 0)
            j = 16
            while j &+ 16 <= count {
                let v = load16(p, j)
                acc.replace(with: v, where: v .> acc)
                j &+= 16
            }
            m = acc.max()
        }
        while j < count { let v = p[j]; if v > m { m = v }; j &+= 1 }
        return m
    }

    /// `Σ a ⊙ b` over `count` contiguous floats with SIMD16 accumulators.
    static func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i &+ 32 <= count {
            acc0 += load16(a, i) * load16(b, i)
            acc1 += load16(a, i &+ 16) * load16(b, i &+ 16)
            i &+= 32
        }
        var s = (acc0 + acc1).sum()
        while i < count { s += a[i] * b[i]; i &+= 1 }
        return s
    }

    /// Writes `y[j] = exp(x[j] − shift)` for `count` contiguous floats (`x ≤ shift` expected, as
    /// after subtracting a maximum) and returns their sum. `x` and `y` may be the same buffer.
    /// Runs the C kernel of `level` when this CPU has it (attention's scores, the cross-entropy
    /// losses and the log-softmax backward come through here), otherwise the Swift SIMD loop.
    @discardableResult
    static func exponentiate(_ x: UnsafePointer<Float>, shift: Float, into y: UnsafeMutablePointer<Float>,
                             _ count: Int, level: KernelLevel = Kernels.activeLevel) -> Float {
        if let kernel = (level == Kernels.activeLevel ? Kernels.active : Kernels.table(level))?.exponentiate {
            return kernel(x, shift, y, count)
        }
        let shiftVector = SIMD16<Float>(repeating: shift)
        var acc = SIMD16<Float>()
        var j = 0
        while j &+ 16 <= count {
            let e = exponentialOfNonPositive(load16(x, j) - shiftVector)
            UnsafeMutableRawPointer(y + j).storeBytes(of: e, as: SIMD16<Float>.self)
            acc += e
            j &+= 16
        }
        var sum = acc.sum()
        while j < count { let e = Foundation.exp(x[j] - shift); y[j] = e; sum += e; j &+= 1 }
        return sum
    }

    /// Lane-wise `y[i] = exp(x[i] − shifts[i])`, adding each value into `sums[i]`.
    static func exponentiateLanes(_ x: UnsafePointer<Float>, shifts: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                  accumulating sums: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i &+ 16 <= count {
            let e = exponentialOfNonPositive(load16(x, i) - load16(shifts, i))
            UnsafeMutableRawPointer(y + i).storeBytes(of: e, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(sums + i).storeBytes(of: load16(sums, i) + e, as: SIMD16<Float>.self)
            i &+= 16
        }
        while i < count { let e = Foundation.exp(x[i] - shifts[i]); y[i] = e; sums[i] += e; i &+= 1 }
    }

    /// ``softmax(alongAxis:)`` composed from `max`, `exp`, `sum` and division, the naive reference
    /// for tests.
    public static func referenceSoftmax(_ x: Tensor, alongAxis axis: Int = -1) -> Tensor {
        let shifted = x - x.detached().max(alongAxes: [axis], keepingDimensions: true)
        let e = shifted.exp()
        return e / e.sum(alongAxes: [axis], keepingDimensions: true)
    }

    /// ``logSoftmax(alongAxis:)`` composed as `x − logSumExp(x)`, the naive reference for tests.
    public static func referenceLogSoftmax(_ x: Tensor, alongAxis axis: Int = -1) -> Tensor {
        x - x.logSumExp(alongAxes: [axis], keepingDimensions: true)
    }
}
