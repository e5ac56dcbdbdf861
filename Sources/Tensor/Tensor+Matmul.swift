import COpenBLAS

// Matrix products through `cblas_sgemm`. Transposes are passed as BLAS flags, never materialised.
// A naive reference kernel sits beside the BLAS one for tests and benchmarks.

extension Tensor {
    /// `C = op(A) · op(B)` for row-major `A`, `B` through `cblas_sgemm`, where `op` transposes
    /// when the flag is set. `A` is `[m, k]` (or `[k, m]` transposed), `B` is `[k, n]` (or `[n, k]`).
    ///
    /// OpenBLAS runs single-threaded (``BLASThreading``); a product of at least
    /// ``BLASThreading/parallelWork`` multiply–adds is split over the longer of `m` and `n` into
    /// one block per worker (`Parallel`), each a single-threaded `cblas_sgemm` on its share.
    @inlinable
    public static func gemm(_ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
                            m: Int, n: Int, k: Int, into c: UnsafeMutablePointer<Float>,
                            alpha: Float = 1, beta: Float = 0,
                            lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil) {
        if m == 0 || n == 0 { return }
        let lda = lda ?? (transposeA ? m : k), ldb = ldb ?? (transposeB ? k : n), ldc = ldc ?? n
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i &* ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i &* ldc &+ j] *= beta } } }
            return
        }
        // Split over the longer side of C: output columns (n ≥ m) or rows, in multiples of 16.
        let alignment = 16
        let splitColumns = n >= m
        let extent = splitColumns ? n : m
        let blocks = BLASThreading.splitCount(work: m &* n &* k, extent: extent, alignment: alignment)
        if blocks > 1 {
            let units = (extent &+ alignment &- 1) / alignment
            let target = SendablePointer(c)
            Parallel.forRanges(units, minimumChunk: Swift.max(1, units / blocks)) { start, end in
                let first = start &* alignment, count = Swift.min(extent, end &* alignment) &- first
                let offsetA = splitColumns ? 0 : (transposeA ? first : first &* lda)
                let offsetB = splitColumns ? (transposeB ? first &* ldb : first) : 0
                serialGemm(a + offsetA, transposeA: transposeA, b + offsetB, transposeB: transposeB,
                           m: splitColumns ? m : count, n: splitColumns ? count : n, k: k,
                           into: target.pointer + (splitColumns ? first : first &* ldc), alpha: alpha, beta: beta,
                           lda: lda, ldb: ldb, ldc: ldc)
            }
            return
        }
        serialGemm(a, transposeA: transposeA, b, transposeB: transposeB, m: m, n: n, k: k, into: c,
                   alpha: alpha, beta: beta, lda: lda, ldb: ldb, ldc: ldc)
    }

    /// ``gemm(_:transposeA:_:transposeB:m:n:k:into:alpha:beta:lda:ldb:ldc:)`` on the calling
    /// thread only (one single-threaded `cblas_sgemm`), for callers that spread their own work
    /// over the workers. Requires `m, n, k > 0` and explicit leading dimensions.
    @inlinable
    public static func serialGemm(_ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
                                  m: Int, n: Int, k: Int, into c: UnsafeMutablePointer<Float>,
                                  alpha: Float = 1, beta: Float = 0, lda: Int, ldb: Int, ldc: Int) {
        BLASThreading.prepare()
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The naive triple loop `C = op(A) · op(B)`, the reference for tests and benchmarks.
    public static func referenceGemm(_ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
                                     m: Int, n: Int, k: Int, into c: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k {
                    let av = transposeA ? a[p &* m &+ i] : a[i &* k &+ p]
                    let bv = transposeB ? b[j &* k &+ p] : b[p &* n &+ j]
                    s += av * bv
                }
                c[i &* n &+ j] = s
            }
        }
    }

    /// Matrix product with PyTorch's `matmul` semantics on the last two axes and broadcasting over
    /// the leading (batch) axes. `transposeA`/`transposeB` use the transpose of the last two axes
    /// of that operand, passed to BLAS as a flag.
    ///
    /// Shapes: `[…, m, k] · […, k, n] → […, m, n]`. Rank-1 operands are treated as a row (left)
    /// or column (right) vector and that axis is dropped from the result.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank >= 1 && b.rank >= 1, "matmul: operands must have rank ≥ 1, got \(a.shape) and \(b.shape)")
        let aVector = a.rank == 1, bVector = b.rank == 1
        let a2 = aVector ? a.reshaped([1, a.count]) : a
        let b2 = bVector ? b.reshaped([b.count, 1]) : b
        let ta = aVector ? false : transposeA, tb = bVector ? false : transposeB
        let am = a2.shape[a2.rank - 2], ak = a2.shape[a2.rank - 1]
        let bk = b2.shape[b2.rank - 2], bn = b2.shape[b2.rank - 1]
        let (m, k) = ta ? (ak, am) : (am, ak)
        let (k2, n) = tb ? (bn, bk) : (bk, bn)
        precondition(k == k2, "matmul: inner dimensions differ: \(a.shape)\(ta ? "ᵀ" : "") · \(b.shape)\(tb ? "ᵀ" : "")")
        let batchA = Array(a2.shape.dropLast(2)), batchB = Array(b2.shape.dropLast(2))
        let batch = Shape.broadcast(batchA, batchB, op: "matmul")
        var out = Tensor(uninitializedShape: batch + [m, n])
        let batchCount = Shape.count(batch)
        let sa = Shape.broadcastStrides(batchA, to: batch), sb = Shape.broadcastStrides(batchB, to: batch)
        let pa = a2.storage.baseAddress, pb = b2.storage.baseAddress, pc = out.storage.baseAddress
        let matA = am * ak, matB = bk * bn
        let bStrides = Shape.strides(batch)
        if batchCount > 1 && k > 0 && m &* n &* k < BLASThreading.parallelWork {
            // Many small products (the Newton–Schulz iterations of 32×32 covariances): spread the
            // batch over the workers, one single-threaded sgemm per product.
            let lda = ta ? m : k, ldb = tb ? k : n
            let sources = (SendablePointer(pa), SendablePointer(pb))
            let target = SendablePointer(pc)
            Parallel.forRanges(batchCount, minimumChunk: Swift.max(1, (1 << 16) / Swift.max(m &* n &* k, 1))) { start, end in
                for i in start..<end {
                    var rem = i, offA = 0, offB = 0
                    for d in 0..<batch.count {
                        let c = rem / bStrides[d]; rem %= bStrides[d]
                        offA += c * sa[d]; offB += c * sb[d]
                    }
                    serialGemm(sources.0.pointer + offA * matA, transposeA: ta, sources.1.pointer + offB * matB, transposeB: tb,
                               m: m, n: n, k: k, into: target.pointer + i * m * n, lda: lda, ldb: ldb, ldc: n)
                }
            }
        } else {
            for i in 0..<batchCount {
                var rem = i, offA = 0, offB = 0
                for d in 0..<batch.count {
                    let c = rem / bStrides[d]; rem %= bStrides[d]
                    offA += c * sa[d]; offB += c * sb[d]
                }
                gemm(pa + offA * matA, transposeA: ta, pb + offB * matB, transposeB: tb, m: m, n: n, k: k, into: pc + i * m * n)
            }
        }
        var resultShape = batch + [m, n]
        if aVector { resultShape.remove(at: resultShape.count - 2) }
        if bVector { resultShape.removeLast() }
        out.shape = resultShape
        return record("matmul", out, inputs: [a, b]) { g in
            let g2 = g.reshaped(batch + [m, n])
            var ga: Tensor? = nil, gb: Tensor? = nil
            if a.requiresGradient {
                // dA = g · op(B)ᵀ, laid out as A (transposed back if A was used transposed).
                let d = ta ? matmul(b2.detached(), g2, transposeA: tb, transposeB: true)
                           : matmul(g2, b2.detached(), transposeB: !tb)
                ga = unbroadcast(d, to: a2.shape).reshaped(a.shape)
            }
            if b.requiresGradient {
                let d = tb ? matmul(g2, a2.detached(), transposeA: true, transposeB: ta)
                           : matmul(a2.detached(), g2, transposeA: !ta)
                gb = unbroadcast(d, to: b2.shape).reshaped(b.shape)
            }
            return [ga, gb]
        }
    }

    /// Affine map `x · Wᵀ + b` (PyTorch's `linear`): `x` is `[…, in]`, `weight` is `[out, in]`,
    /// `bias` is `[out]`; the result is `[…, out]`.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        precondition(weight.rank == 2, "linear: weight must be [out, in], got \(weight.shape)")
        precondition(x.rank >= 1 && x.shape[x.rank - 1] == weight.shape[1],
                     "linear: input \(x.shape) does not end in in-features \(weight.shape[1]) of weight \(weight.shape)")
        let lead = Array(x.shape.dropLast())
        var y = matmul(x.reshaped([-1, weight.shape[1]]), weight, transposeB: true)
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "linear: bias \(bias.shape) does not match weight \(weight.shape)")
            y = y + bias
        }
        return y.reshaped(lead + [weight.shape[0]])
    }
}
