import COpenBLAS

// BLAS-backed primitives for estimating and evaluating Gaussian densities on many samples at once
// (the Gaussian mixture's M-step scatter matrices and E-step whitening), each with a naive
// reference next to it for tests.

extension Matrix {
    /// The weighted scatter (Gram) matrix `alpha · Xᵀ·diag(w)·X` of the rows of `x`, through
    /// `cblas_dsyrk` on the rows scaled by `√wᵢ` (half the work of a general product).
    ///
    /// Shapes: `x` is `[n, d]` (n samples of d features), `rowWeights` has n non-negative
    /// entries (all ones when `nil`), the result is the symmetric `[d, d]` matrix with both
    /// triangles filled. With `x` centred on a component's mean and `rowWeights` its
    /// responsibilities, `alpha = 1/Nₖ` gives that component's covariance as scikit-learn's
    /// `_estimate_gaussian_covariances_full` does.
    ///
    /// - Precondition: `rowWeights`, when given, has `x.rows` entries, none negative or NaN.
    public static func weightedGram(_ x: Matrix, rowWeights: [Double]? = nil, alpha: Double = 1) -> Matrix {
        let n = x.rows, d = x.columns
        var scaled = x
        if let rowWeights {
            precondition(rowWeights.count == n,
                         "Matrix.weightedGram: \(rowWeights.count) row weights for a \(n)×\(d) matrix")
            scaled.elements.withUnsafeMutableBufferPointer { values in
                for i in 0..<n {
                    let weight = rowWeights[i]
                    precondition(weight >= 0, "Matrix.weightedGram: row weight \(i) is \(weight), expected ≥ 0")
                    let scale = weight.squareRoot()
                    let row = values.baseAddress! + i &* d
                    for j in 0..<d { row[j] *= scale }
                }
            }
        }
        var result = Matrix(rows: d, columns: d)
        if d == 0 || n == 0 { return result }
        BLASThreading.prepare()
        scaled.elements.withUnsafeBufferPointer { a in
            result.elements.withUnsafeMutableBufferPointer { c in
                // Row-major C = alpha · Aᵀ·A: A is [n, d], so trans = CblasTrans, k = n.
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(n), alpha,
                            a.baseAddress, Int32(d), 0, c.baseAddress, Int32(d))
                let base = c.baseAddress!
                for i in 1..<max(d, 1) {
                    for j in 0..<i { base[i &* d &+ j] = base[j &* d &+ i] }
                }
            }
        }
        return result
    }

    /// The naive double loop for ``weightedGram(_:rowWeights:alpha:)``, the reference for tests.
    public static func referenceWeightedGram(_ x: Matrix, rowWeights: [Double]? = nil, alpha: Double = 1) -> Matrix {
        var result = Matrix(rows: x.columns, columns: x.columns)
        for i in 0..<x.columns {
            for j in 0..<x.columns {
                var sum = 0.0
                for s in 0..<x.rows { sum += (rowWeights?[s] ?? 1) * x[s, i] * x[s, j] }
                result[i, j] = alpha * sum
            }
        }
        return result
    }

    /// `A · T` for a triangular `T` (upper when `upper`, else lower), through `cblas_dtrmm`:
    /// half the work of a general product, and only the named triangle of `T` is read.
    ///
    /// Shapes: `a` is `[n, d]`, `triangular` is `[d, d]`, the result is `[n, d]`. With `a` the
    /// centred samples and `triangular` a component's upper-triangular precision Cholesky factor
    /// `U` (precision `= U·Uᵀ`), each row of the result is a whitened sample whose squared norm is
    /// its Mahalanobis distance.
    ///
    /// - Precondition: `triangular` is square with as many rows as `a` has columns.
    public static func triangularProduct(_ a: Matrix, _ triangular: Matrix, upper: Bool) -> Matrix {
        precondition(triangular.isSquare && triangular.rows == a.columns,
                     "Matrix.triangularProduct: \(a.rows)×\(a.columns) · \(triangular.rows)×\(triangular.columns) (expected a square \(a.columns)×\(a.columns) triangle)")
        var result = a
        let n = a.rows, d = a.columns
        if n == 0 || d == 0 { return result }
        BLASThreading.prepare()
        triangular.elements.withUnsafeBufferPointer { t in
            result.elements.withUnsafeMutableBufferPointer { b in
                let factor = SendablePointer(UnsafeMutablePointer(mutating: t.baseAddress!)), rows = SendablePointer(b.baseAddress!)
                // Rows are independent: one block of rows per worker, single-threaded dtrmm each.
                let work = n &* d &* d / 2
                let blocks = BLASThreading.splitCount(work: work, extent: n, alignment: 8)
                Parallel.forRanges(n, minimumChunk: blocks > 1 ? Swift.max(1, n / blocks) : Swift.max(n, 1)) { start, end in
                    cblas_dtrmm(CblasRowMajor, CblasRight, upper ? CblasUpper : CblasLower, CblasNoTrans, CblasNonUnit,
                                Int32(end &- start), Int32(d), 1, factor.pointer, Int32(d), rows.pointer + start &* d, Int32(d))
                }
            }
        }
        return result
    }

    /// The naive triple loop for ``triangularProduct(_:_:upper:)``, the reference for tests.
    public static func referenceTriangularProduct(_ a: Matrix, _ triangular: Matrix, upper: Bool) -> Matrix {
        var result = Matrix(rows: a.rows, columns: triangular.columns)
        for i in 0..<a.rows {
            for j in 0..<triangular.columns {
                var sum = 0.0
                let range = upper ? 0..<(j + 1) : j..<triangular.rows
                for p in range { sum += a[i, p] * triangular[p, j] }
                result[i, j] = sum
            }
        }
        return result
    }

    /// The squared norms of the whitened, centred rows `‖(xᵢ − cₖ)·Tₖ‖²` for every row `i` of `x`
    /// and every centre `k`, `[n, K]` — the Mahalanobis distances of a Gaussian mixture's E-step
    /// when `Tₖ` is component k's precision Cholesky factor.
    ///
    /// The rows go in tiles of `whiteningTileRows` spread over the workers (`Parallel`); for
    /// each tile and centre, the centred rows are whitened in place by one single-threaded
    /// `cblas_dtrmm` (``BLASThreading``) and their squared norms taken while the tile is still in
    /// cache. Each worker reuses one tile buffer for all its tiles and centres.
    ///
    /// Shapes: `x` is `[n, d]`, `centres` is `[K, d]`, `triangulars` holds K `[d, d]` matrices of
    /// which only the named triangle (upper when `upper`) is read.
    ///
    /// - Precondition: the shapes agree.
    public static func whitenedSquaredNorms(_ x: Matrix, centres: Matrix, triangulars: [Matrix], upper: Bool) -> Matrix {
        let n = x.rows, d = x.columns, k = centres.rows
        precondition(centres.columns == d && triangulars.count == k && triangulars.allSatisfy { $0.rows == d && $0.columns == d },
                     "Matrix.whitenedSquaredNorms: x \(n)×\(d), centres \(centres.rows)×\(centres.columns), \(triangulars.count) triangular matrices (expected \(k) of \(d)×\(d))")
        var result = Matrix(rows: n, columns: k)
        if n == 0 || k == 0 { return result }
        BLASThreading.prepare()
        let tileRows = whiteningTileRows
        let tiles = (n &+ tileRows &- 1) / tileRows
        // The K factors side by side (a copy of K·d² doubles, small beside the K·n·d²/2 of the products).
        let factorStorage = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(k &* d &* d, 1))
        defer { factorStorage.deallocate() }
        for (component, matrix) in triangulars.enumerated() where d > 0 {
            matrix.elements.withUnsafeBufferPointer { (factorStorage + component &* d &* d).update(from: $0.baseAddress!, count: d &* d) }
        }
        let factors = SendablePointer(factorStorage)
        x.elements.withUnsafeBufferPointer { samples in
            centres.elements.withUnsafeBufferPointer { centreValues in
                result.elements.withUnsafeMutableBufferPointer { output in
                    let source = SendablePointer(UnsafeMutablePointer(mutating: samples.baseAddress!))
                    let means = SendablePointer(UnsafeMutablePointer(mutating: centreValues.baseAddress!))
                    let norms = SendablePointer(output.baseAddress!)
                    Parallel.forRanges(tiles, minimumChunk: 1) { firstTile, endTile in
                        let work = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(tileRows &* d, 1))
                        defer { work.deallocate() }
                        for tile in firstTile..<endTile {
                            let start = tile &* tileRows, rows = Swift.min(tileRows, n &- start)
                            for component in 0..<k {
                                let c = means.pointer + component &* d
                                for r in 0..<rows {
                                    let row = source.pointer + (start &+ r) &* d, target = work + r &* d
                                    for j in 0..<d { target[j] = row[j] - c[j] }
                                }
                                if d > 0 {
                                    cblas_dtrmm(CblasRowMajor, CblasRight, upper ? CblasUpper : CblasLower, CblasNoTrans, CblasNonUnit,
                                                Int32(rows), Int32(d), 1, factors.pointer + component &* d &* d, Int32(d), work, Int32(d))
                                }
                                for r in 0..<rows {
                                    norms.pointer[(start &+ r) &* k &+ component] = squaredNorm(work + r &* d, count: d)
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Rows per tile of ``whitenedSquaredNorms(_:centres:triangulars:upper:)``: 256 rows of 528
    /// doubles (1 MB) stay in a core's L2 cache between the centring, the `dtrmm` and the norms,
    /// and one `dtrmm` on 256 rows is long enough (36 M multiply–adds) to amortise packing the factor.
    static let whiteningTileRows = 256

    /// The naive loops for ``whitenedSquaredNorms(_:centres:triangulars:upper:)``, the reference for tests.
    public static func referenceWhitenedSquaredNorms(_ x: Matrix, centres: Matrix, triangulars: [Matrix], upper: Bool) -> Matrix {
        var result = Matrix(rows: x.rows, columns: centres.rows)
        for component in 0..<centres.rows {
            let whitened = referenceTriangularProduct(x.subtractingFromRows(centres.row(component)), triangulars[component], upper: upper)
            for i in 0..<x.rows {
                result[i, component] = (0..<x.columns).reduce(0) { $0 + whitened[i, $1] * whitened[i, $1] }
            }
        }
        return result
    }

    /// The weighted scatter matrices `Sₖ = Σᵢ wᵢₖ·(xᵢ − cₖ)(xᵢ − cₖ)ᵀ` around every centre `k`,
    /// each `[d, d]` with both triangles filled — a Gaussian mixture's M-step covariances (times
    /// `Nₖ`) when `w` holds the responsibilities and `cₖ` the new means.
    ///
    /// For each centre, the rows with a non-zero weight are gathered, centred and scaled by
    /// `√wᵢₖ` into one reused buffer (split across cores), and `cblas_dsyrk` forms their Gram
    /// matrix (one single-threaded call per worker on its share of the rows, summed). Rows of weight exactly zero add nothing and are skipped, so a mixture whose
    /// responsibilities are nearly hard (most `exp` of very negative log-responsibilities
    /// underflow to 0) costs about one rank-n update in all instead of one per component.
    ///
    /// Shapes: `x` is `[n, d]`, `centres` is `[K, d]`, `weights` is `[n, K]`.
    ///
    /// - Precondition: the shapes agree and no weight is negative or NaN.
    public static func weightedScatters(_ x: Matrix, centres: Matrix, weights: Matrix) -> [Matrix] {
        let n = x.rows, d = x.columns, k = centres.rows
        precondition(centres.columns == d && weights.rows == n && weights.columns == k,
                     "Matrix.weightedScatters: x \(n)×\(d), centres \(centres.rows)×\(centres.columns), weights \(weights.rows)×\(weights.columns) (expected \(n)×\(k))")
        if let bad = weights.elements.firstIndex(where: { !($0 >= 0) }) {
            preconditionFailure("Matrix.weightedScatters: weight of row \(bad / k), centre \(bad % k) is \(weights.elements[bad]), expected ≥ 0")
        }
        BLASThreading.prepare()
        let buffer = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(n &* d, 1))
        defer { buffer.deallocate() }
        let work = SendablePointer(buffer)
        let rowsPerChunk = Swift.max(1, (1 << 14) / Swift.max(d, 1))
        return (0..<k).map { component in
            var result = Matrix(rows: d, columns: d)
            let kept = (0..<n).filter { weights.elements[$0 &* k &+ component] > 0 }
            let m = kept.count
            if m == 0 || d == 0 { return result }
            x.elements.withUnsafeBufferPointer { samples in
                centres.elements.withUnsafeBufferPointer { centreValues in
                    weights.elements.withUnsafeBufferPointer { weightValues in
                        kept.withUnsafeBufferPointer { rows in
                            let source = SendablePointer(UnsafeMutablePointer(mutating: samples.baseAddress!))
                            let centre = SendablePointer(UnsafeMutablePointer(mutating: centreValues.baseAddress! + component &* d))
                            let w = SendablePointer(UnsafeMutablePointer(mutating: weightValues.baseAddress!)), index = SendablePointer(UnsafeMutablePointer(mutating: rows.baseAddress!))
                            Parallel.forRanges(m, minimumChunk: rowsPerChunk) { start, end in
                                let c = centre.pointer
                                for r in start..<end {
                                    let i = index.pointer[r]
                                    let scale = w.pointer[i &* k &+ component].squareRoot()
                                    let row = source.pointer + i &* d, target = work.pointer + r &* d
                                    for j in 0..<d { target[j] = (row[j] - c[j]) * scale }
                                }
                            }
                        }
                    }
                }
            }
            result.elements.withUnsafeMutableBufferPointer { c in
                // Row-major C = Bᵀ·B with B the [m, d] gathered rows: trans = CblasTrans, k = m.
                // Large updates are split over the rows of B, one single-threaded dsyrk per worker
                // into its own [d, d] (BLASThreading), and the partial Gram matrices added.
                let blocks = BLASThreading.splitCount(work: m &* d &* d / 2, extent: m, alignment: 64)
                if blocks > 1 {
                    let partials = UnsafeMutablePointer<Double>.allocate(capacity: (blocks &- 1) &* d &* d)
                    defer { partials.deallocate() }
                    let target = SendablePointer(c.baseAddress!), scratch = SendablePointer(partials)
                    Parallel.forRanges(blocks, minimumChunk: 1) { first, end in
                        for block in first..<end {
                            let start = m &* block / blocks, stop = m &* (block &+ 1) / blocks
                            let into = block == 0 ? target.pointer : scratch.pointer + (block &- 1) &* d &* d
                            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(stop &- start), 1,
                                        work.pointer + start &* d, Int32(d), 0, into, Int32(d))
                        }
                    }
                    for block in 1..<blocks {
                        let partial = partials + (block &- 1) &* d &* d
                        for i in 0..<d {
                            let row = c.baseAddress! + i &* d, add = partial + i &* d
                            for j in i..<d { row[j] += add[j] }
                        }
                    }
                } else {
                    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(m), 1,
                                buffer, Int32(d), 0, c.baseAddress, Int32(d))
                }
                let base = c.baseAddress!
                for i in 1..<Swift.max(d, 1) {
                    for j in 0..<i { base[i &* d &+ j] = base[j &* d &+ i] }
                }
            }
            return result
        }
    }

    /// The naive loops for ``weightedScatters(_:centres:weights:)``, the reference for tests.
    public static func referenceWeightedScatters(_ x: Matrix, centres: Matrix, weights: Matrix) -> [Matrix] {
        (0..<centres.rows).map { component in
            referenceWeightedGram(x.subtractingFromRows(centres.row(component)),
                                  rowWeights: (0..<x.rows).map { weights[$0, component] })
        }
    }

    /// A copy with `vector` subtracted from every row (`X − 1·vᵀ`), e.g. samples centred on a mean.
    ///
    /// - Precondition: `vector.count == columns`.
    public func subtractingFromRows(_ vector: [Double]) -> Matrix {
        precondition(vector.count == columns,
                     "Matrix.subtractingFromRows: a vector of \(vector.count) for a \(rows)×\(columns) matrix")
        var result = self
        let d = columns
        result.elements.withUnsafeMutableBufferPointer { values in
            vector.withUnsafeBufferPointer { v in
                for i in 0..<rows {
                    let row = values.baseAddress! + i &* d
                    for j in 0..<d { row[j] -= v[j] }
                }
            }
        }
        return result
    }

    /// The elements of row `index`, `columns` of them.
    ///
    /// - Precondition: `0 ≤ index < rows`.
    public func row(_ index: Int) -> [Double] {
        precondition(index >= 0 && index < rows, "Matrix.row: index \(index) out of range for \(rows) rows")
        return Array(elements[(index &* columns)..<((index &+ 1) &* columns)])
    }
}

/// `Σⱼ p[j]²` over `count` values, with SIMD accumulators.
@inline(__always)
private func squaredNorm(_ p: UnsafePointer<Double>, count: Int) -> Double {
    var accumulator0 = SIMD4<Double>(), accumulator1 = SIMD4<Double>()
    var j = 0
    while j &+ 8 <= count {
        let a = UnsafeRawPointer(p + j).loadUnaligned(as: SIMD4<Double>.self)
        let b = UnsafeRawPointer(p + (j &+ 4)).loadUnaligned(as: SIMD4<Double>.self)
        accumulator0 += a * a
        accumulator1 += b * b
        j &+= 8
    }
    var sum = (accumulator0 + accumulator1).sum()
    while j < count { sum += p[j] * p[j]; j &+= 1 }
    return sum
}
