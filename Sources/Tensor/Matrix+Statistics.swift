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
        triangular.elements.withUnsafeBufferPointer { t in
            result.elements.withUnsafeMutableBufferPointer { b in
                cblas_dtrmm(CblasRowMajor, CblasRight, upper ? CblasUpper : CblasLower, CblasNoTrans, CblasNonUnit,
                            Int32(n), Int32(d), 1, t.baseAddress, Int32(d), b.baseAddress, Int32(d))
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
