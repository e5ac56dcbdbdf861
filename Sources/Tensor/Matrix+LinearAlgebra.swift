import CLAPACKE
import COpenBLAS
import Foundation

// Double-precision factorizations and solves on `Matrix` through LAPACKE (row-major calls) and
// CBLAS. Everything that can fail on valid-looking input (a matrix that is not positive definite,
// a singular system, a solver that does not converge) throws a `LinearAlgebraError`, as do shape
// mismatches, so a statistics routine can report which covariance failed and why.

/// A failure of a linear-algebra routine on ``Matrix``; each message names the routine and the shapes.
public enum LinearAlgebraError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Cholesky (`dpotrf`) found the leading minor of order `minorIndex` (1-based) of an
    /// `order × order` matrix not positive definite.
    case notPositiveDefinite(order: Int, minorIndex: Int)
    /// `routine` met an exactly zero pivot (1-based `index`) in an `order × order` matrix.
    case singular(routine: String, order: Int, index: Int)
    /// The operands of `operation` have incompatible shapes, described in `shapes`.
    case shapeMismatch(operation: String, shapes: String)
    /// An iterative LAPACK routine (e.g. `dsyevd`) did not converge; `info` is its return code.
    case noConvergence(routine: String, info: Int)
    /// A LAPACK routine returned an unexpected `info` (an illegal argument when negative).
    case lapackFailure(routine: String, info: Int)

    /// A human-readable explanation naming the routine and the shapes.
    public var description: String {
        switch self {
        case let .notPositiveDefinite(order, minorIndex):
            return "dpotrf: the \(order)×\(order) matrix is not positive definite (its leading minor of order \(minorIndex) is not positive)"
        case let .singular(routine, order, index):
            return "\(routine): the \(order)×\(order) matrix is singular (zero pivot at diagonal position \(index))"
        case let .shapeMismatch(operation, shapes):
            return "\(operation): shape mismatch: \(shapes)"
        case let .noConvergence(routine, info):
            return "\(routine): did not converge (info = \(info))"
        case let .lapackFailure(routine, info):
            return "\(routine): failed with info = \(info)\(info < 0 ? " (argument \(-info) had an illegal value)" : "")"
        }
    }
}

/// A LAPACK character argument (`'L'`, `'U'`, `'N'`, `'V'`).
private func lapackCharacter(_ scalar: Unicode.Scalar) -> CChar { CChar(truncatingIfNeeded: scalar.value) }

extension Matrix {
    /// The Cholesky factor of a symmetric positive-definite matrix through LAPACK's `dpotrf`:
    /// `L` lower triangular with `A = L·Lᵀ` (default), or `U` upper triangular with `A = Uᵀ·U`.
    /// The other triangle of the result is zero.
    ///
    /// Only the triangle named by `lower` of `self` is read; the matrix is assumed symmetric.
    ///
    /// - Throws: ``LinearAlgebraError/notPositiveDefinite(order:minorIndex:)`` when a leading minor
    ///   is not positive; ``LinearAlgebraError/shapeMismatch(operation:shapes:)`` when not square.
    public func choleskyFactor(lower: Bool = true) throws -> Matrix {
        try requireSquare("choleskyFactor")
        let n = rows
        var factor = self
        if n == 0 { return factor }
        BLASThreading.prepare()
        let info = factor.elements.withUnsafeMutableBufferPointer { a in
            LAPACKE_dpotrf(LAPACK_ROW_MAJOR, lapackCharacter(lower ? "L" : "U"), Int32(n), a.baseAddress, Int32(n))
        }
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(order: n, minorIndex: Int(info)) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(routine: "dpotrf", info: Int(info)) }
        factor.elements.withUnsafeMutableBufferPointer { a in
            for i in 0..<n {
                let row = a.baseAddress! + i &* n
                if lower {
                    for j in (i &+ 1)..<n { row[j] = 0 }
                } else {
                    for j in 0..<i { row[j] = 0 }
                }
            }
        }
        return factor
    }

    /// Solves `op(T)·X = B` for `X`, where `T` is `self`, triangular (lower or upper as given),
    /// and `op` transposes when `transpose` is set — through `cblas_dtrsm`.
    ///
    /// Only the named triangle of `self` is read (the other may hold anything). Shapes: `self` is
    /// `[n, n]`, `b` is `[n, k]` (k right-hand sides, e.g. k data points), the result is `[n, k]`.
    /// With a Cholesky factor `L` of `A`, `L.solveTriangular(b, lower: true)` whitens `b`, and a
    /// second solve with `transpose: true` completes `A⁻¹·b`.
    ///
    /// - Throws: ``LinearAlgebraError/singular(routine:order:index:)`` when a diagonal element is
    ///   zero; ``LinearAlgebraError/shapeMismatch(operation:shapes:)`` on incompatible shapes.
    public func solveTriangular(_ b: Matrix, lower: Bool, transpose: Bool = false) throws -> Matrix {
        try requireSquare("solveTriangular")
        guard b.rows == rows else {
            throw LinearAlgebraError.shapeMismatch(operation: "solveTriangular",
                                                   shapes: "triangular matrix \(rows)×\(columns), right-hand side \(b.rows)×\(b.columns)")
        }
        let n = rows, k = b.columns
        for i in 0..<n where elements[i &* n &+ i] == 0 {
            throw LinearAlgebraError.singular(routine: "solveTriangular", order: n, index: i + 1)
        }
        var x = b
        if n == 0 || k == 0 { return x }
        BLASThreading.prepare()
        elements.withUnsafeBufferPointer { a in
            x.elements.withUnsafeMutableBufferPointer { pb in
                // The right-hand sides are independent: one block of columns per worker, a
                // single-threaded dtrsm each (BLASThreading).
                let factor = SendablePointer(UnsafeMutablePointer(mutating: a.baseAddress!)), sides = SendablePointer(pb.baseAddress!)
                let blocks = BLASThreading.splitCount(work: n &* n &* k / 2, extent: k, alignment: 8)
                Parallel.forRanges(k, minimumChunk: blocks > 1 ? Swift.max(1, k / blocks) : k) { start, end in
                    cblas_dtrsm(CblasRowMajor, CblasLeft, lower ? CblasLower : CblasUpper,
                                transpose ? CblasTrans : CblasNoTrans, CblasNonUnit,
                                Int32(n), Int32(end &- start), 1, factor.pointer, Int32(n), sides.pointer + start, Int32(k))
                }
            }
        }
        return x
    }

    /// The naive forward/back substitution for ``solveTriangular(_:lower:transpose:)``, the
    /// reference for tests (no singularity check).
    public func referenceSolveTriangular(_ b: Matrix, lower: Bool, transpose: Bool = false) -> Matrix {
        precondition(isSquare && b.rows == rows,
                     "Matrix.referenceSolveTriangular: shapes \(rows)×\(columns) and \(b.rows)×\(b.columns)")
        let n = rows
        // op(T) is lower triangular when exactly one of (lower, transpose) holds.
        let effectiveLower = lower != transpose
        func t(_ i: Int, _ j: Int) -> Double { transpose ? self[j, i] : self[i, j] }
        var x = b
        for column in 0..<b.columns {
            let order = effectiveLower ? Array(0..<n) : Array((0..<n).reversed())
            for i in order {
                var sum = b[i, column]
                let others = effectiveLower ? Array(0..<i) : Array((i + 1)..<n)
                for j in others { sum -= t(i, j) * x[j, column] }
                x[i, column] = sum / t(i, i)
            }
        }
        return x
    }

    /// The natural logarithm of the determinant of a symmetric positive-definite matrix, from its
    /// Cholesky factor: `log det A = 2·Σ log Lᵢᵢ` (no overflow even for 528×528 covariances).
    ///
    /// - Throws: ``LinearAlgebraError/notPositiveDefinite(order:minorIndex:)`` if `self` is not
    ///   positive definite; ``LinearAlgebraError/shapeMismatch(operation:shapes:)`` if not square.
    public func logDeterminant() throws -> Double {
        Matrix.logDeterminant(choleskyFactor: try choleskyFactor())
    }

    /// `log det A = 2·Σ log Lᵢᵢ` from a Cholesky factor `L` of `A` (lower or upper), for callers
    /// that already factored `A`.
    public static func logDeterminant(choleskyFactor factor: Matrix) -> Double {
        precondition(factor.isSquare, "Matrix.logDeterminant(choleskyFactor:): factor is \(factor.rows)×\(factor.columns), not square")
        var sum = 0.0
        for value in factor.diagonal { sum += Foundation.log(value) }
        return 2 * sum
    }

    /// The eigendecomposition `A = V·diag(λ)·Vᵀ` of a symmetric matrix through LAPACK's `dsyevd`
    /// (divide and conquer).
    ///
    /// Only the lower triangle of `self` is read. The eigenvalues are in ascending order; column
    /// `j` of `vectors` is the unit eigenvector of `values[j]` (its sign is LAPACK's choice).
    ///
    /// - Throws: ``LinearAlgebraError/noConvergence(routine:info:)`` if the algorithm fails;
    ///   ``LinearAlgebraError/shapeMismatch(operation:shapes:)`` if not square.
    public func symmetricEigendecomposition() throws -> (values: [Double], vectors: Matrix) {
        try requireSquare("symmetricEigendecomposition")
        let n = rows
        var vectors = self
        var values = [Double](repeating: 0, count: n)
        if n == 0 { return (values, vectors) }
        BLASThreading.prepare()
        let info = vectors.elements.withUnsafeMutableBufferPointer { a in
            values.withUnsafeMutableBufferPointer { w in
                LAPACKE_dsyevd(LAPACK_ROW_MAJOR, lapackCharacter("V"), lapackCharacter("L"),
                               Int32(n), a.baseAddress, Int32(n), w.baseAddress)
            }
        }
        if info > 0 { throw LinearAlgebraError.noConvergence(routine: "dsyevd", info: Int(info)) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(routine: "dsyevd", info: Int(info)) }
        return (values, vectors)
    }

    /// Solves the general square system `A·X = B` by LU with partial pivoting (LAPACK's `dgesv`).
    ///
    /// Shapes: `self` is `[n, n]`, `b` is `[n, k]`, the result is `[n, k]`.
    ///
    /// - Throws: ``LinearAlgebraError/singular(routine:order:index:)`` when `A` is exactly singular;
    ///   ``LinearAlgebraError/shapeMismatch(operation:shapes:)`` on incompatible shapes.
    public func solve(_ b: Matrix) throws -> Matrix {
        try requireSquare("solve")
        guard b.rows == rows else {
            throw LinearAlgebraError.shapeMismatch(operation: "solve",
                                                   shapes: "matrix \(rows)×\(columns), right-hand side \(b.rows)×\(b.columns)")
        }
        let n = rows, k = b.columns
        var lu = self
        var x = b
        if n == 0 || k == 0 { return x }
        var pivots = [Int32](repeating: 0, count: n)
        BLASThreading.prepare()
        let info = lu.elements.withUnsafeMutableBufferPointer { a in
            x.elements.withUnsafeMutableBufferPointer { pb in
                pivots.withUnsafeMutableBufferPointer { ipiv in
                    LAPACKE_dgesv(LAPACK_ROW_MAJOR, Int32(n), Int32(k), a.baseAddress, Int32(n),
                                  ipiv.baseAddress, pb.baseAddress, Int32(k))
                }
            }
        }
        if info > 0 { throw LinearAlgebraError.singular(routine: "dgesv", order: n, index: Int(info)) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(routine: "dgesv", info: Int(info)) }
        return x
    }

    /// The inverse `A⁻¹`, as the solution of `A·X = I` (``solve(_:)``). Prefer solving with the
    /// right-hand side directly, or triangular solves with a Cholesky factor, when possible.
    ///
    /// - Throws: as ``solve(_:)``.
    public func inverse() throws -> Matrix {
        try requireSquare("inverse")
        return try solve(Matrix(identity: rows))
    }

    /// Throws ``LinearAlgebraError/shapeMismatch(operation:shapes:)`` unless square.
    private func requireSquare(_ operation: String) throws {
        guard isSquare else {
            throw LinearAlgebraError.shapeMismatch(operation: operation, shapes: "expected a square matrix, got \(rows)×\(columns)")
        }
    }
}
