import Foundation
import Testing
import Tensor
import GrainTestSupport

// Double-precision linear algebra on `Matrix`: hand-computable cases, identities
// (L·Lᵀ = A, A·x = b, V·diag(λ)·Vᵀ = A, log det = Σ log λ), failures, and a 528×528 SPD case
// (the dimension of the Gaussian mixture's features).

/// A reproducible standard-normal `rows × columns` matrix.
private func randomMatrix(_ rows: Int, _ columns: Int, seed: UInt64) -> Matrix {
    var generator = RandomGenerator(seed: seed)
    return Matrix(rows: rows, columns: columns, elements: (0..<(rows * columns)).map { _ in generator.nextStandardNormal() })
}

/// A reproducible symmetric positive-definite matrix `X·Xᵀ / samples + ridge·I`.
private func randomSymmetricPositiveDefinite(_ order: Int, samples: Int, ridge: Double, seed: UInt64) -> Matrix {
    let x = randomMatrix(order, samples, seed: seed)
    return Matrix.product(x, x, transposeB: true, alpha: 1 / Double(samples)).addingToDiagonal(ridge)
}

/// Expects `actual` within `tolerance` (absolute, element-wise) of `expected`, printing the gap.
private func expectClose(_ actual: Matrix, _ expected: Matrix, tolerance: Double, _ label: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.rows == expected.rows && actual.columns == expected.columns,
            "\(label): \(actual.rows)×\(actual.columns) vs \(expected.rows)×\(expected.columns)", sourceLocation: sourceLocation)
    guard actual.rows == expected.rows && actual.columns == expected.columns else { return }
    let gap = actual.maximumAbsoluteDifference(to: expected)
    print("[linalg] \(label): max abs diff \(gap)")
    #expect(gap <= tolerance, "\(label): max abs diff \(gap) > \(tolerance)", sourceLocation: sourceLocation)
}

@Suite struct LinearAlgebraTests {
    @Test func matrixBasics() {
        var a = Matrix(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5, 6])
        #expect(a[1, 2] == 6)
        a[0, 1] = -2
        #expect(a.elements == [1, -2, 3, 4, 5, 6])
        #expect(a.transposed == Matrix(rows: 3, columns: 2, elements: [1, 4, -2, 5, 3, 6]))
        #expect(Matrix(identity: 2) == Matrix(rows: 2, columns: 2, elements: [1, 0, 0, 1]))
        #expect(Matrix(diagonal: [2, 3]).diagonal == [2, 3])
        #expect(Matrix(diagonal: [2, 3]).addingToDiagonal(1).trace == 7)
        // Tensor round trip (float32 [rows, columns]).
        let t = Tensor(a)
        #expect(t.shape == [2, 3])
        #expect(t.scalars == [1, -2, 3, 4, 5, 6])
        #expect(Matrix(t) == a)
    }

    @Test func productMatchesReference() {
        let a = Matrix(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5, 6])
        let b = Matrix(rows: 3, columns: 2, elements: [7, 8, 9, 10, 11, 12])
        #expect(a * b == Matrix(rows: 2, columns: 2, elements: [58, 64, 139, 154]))
        let x = randomMatrix(5, 4, seed: 1), y = randomMatrix(5, 3, seed: 2)
        let z = randomMatrix(4, 5, seed: 3), w = randomMatrix(3, 4, seed: 8)
        expectClose(Matrix.product(x, y, transposeA: true), Matrix.referenceProduct(x, y, transposeA: true), tolerance: 1e-12, "Xᵀ·Y")
        expectClose(Matrix.product(y, z, transposeA: true, transposeB: true),
                    Matrix.referenceProduct(y, z, transposeA: true, transposeB: true), tolerance: 1e-12, "Yᵀ·Zᵀ")
        expectClose(Matrix.product(x, w, transposeB: true), Matrix.referenceProduct(x, w, transposeB: true), tolerance: 1e-12, "X·Wᵀ")
        #expect(Matrix.product(x, Matrix(rows: 4, columns: 0, elements: [])) == Matrix(rows: 5, columns: 0))
    }

    @Test func choleskyByHand() throws {
        // A = [[4, 12, −16], [12, 37, −43], [−16, −43, 98]] = L·Lᵀ with L = [[2, 0, 0], [6, 1, 0], [−8, 5, 3]].
        let a = Matrix(rows: 3, columns: 3, elements: [4, 12, -16, 12, 37, -43, -16, -43, 98])
        let l = Matrix(rows: 3, columns: 3, elements: [2, 0, 0, 6, 1, 0, -8, 5, 3])
        expectClose(try a.choleskyFactor(), l, tolerance: 1e-12, "cholesky lower")
        expectClose(try a.choleskyFactor(lower: false), l.transposed, tolerance: 1e-12, "cholesky upper")
        // det A = (2·1·3)² = 36.
        #expect(abs(try a.logDeterminant() - log(36.0)) < 1e-12)
        #expect(abs(Matrix.logDeterminant(choleskyFactor: l.transposed) - log(36.0)) < 1e-12)
    }

    @Test func identitiesOnRandomSPD() throws {
        let a = randomSymmetricPositiveDefinite(6, samples: 10, ridge: 0.5, seed: 4)
        let l = try a.choleskyFactor()
        expectClose(l * l.transposed, a, tolerance: 1e-12, "L·Lᵀ")
        let u = try a.choleskyFactor(lower: false)
        expectClose(u.transposed * u, a, tolerance: 1e-12, "Uᵀ·U")
        for i in 0..<6 { for j in (i + 1)..<6 { #expect(l[i, j] == 0 && u[j, i] == 0) } }

        let (values, vectors) = try a.symmetricEigendecomposition()
        #expect(values == values.sorted())
        expectClose(vectors * Matrix(diagonal: values) * vectors.transposed, a, tolerance: 1e-12, "V·diag(λ)·Vᵀ")
        expectClose(vectors.transposed * vectors, Matrix(identity: 6), tolerance: 1e-12, "Vᵀ·V")
        let logDeterminant = try a.logDeterminant()
        #expect(abs(logDeterminant - values.map { log($0) }.reduce(0, +)) < 1e-10)

        let b = randomMatrix(6, 3, seed: 5)
        let x = try a.solve(b)
        expectClose(a * x, b, tolerance: 1e-12, "A·x = b")
        expectClose(a * (try a.inverse()), Matrix(identity: 6), tolerance: 1e-12, "A·A⁻¹")
        // A⁻¹·b through two triangular solves with the Cholesky factor.
        let whitened = try l.solveTriangular(b, lower: true)
        expectClose(l * whitened, b, tolerance: 1e-12, "L·(L⁻¹b)")
        expectClose(try l.solveTriangular(whitened, lower: true, transpose: true), x, tolerance: 1e-12, "Lᵀ⁻¹L⁻¹b")
        expectClose(try u.solveTriangular(b, lower: false), u.referenceSolveTriangular(b, lower: false), tolerance: 1e-12, "upper vs reference")
        expectClose(try u.solveTriangular(b, lower: false, transpose: true),
                    u.referenceSolveTriangular(b, lower: false, transpose: true), tolerance: 1e-12, "upperᵀ vs reference")
        expectClose(try l.solveTriangular(b, lower: true, transpose: true),
                    l.referenceSolveTriangular(b, lower: true, transpose: true), tolerance: 1e-12, "lowerᵀ vs reference")
        // Only the named triangle is read: a full symmetric matrix gives the same as its factor's triangle.
        expectClose(try a.solveTriangular(b, lower: true), a.referenceSolveTriangular(b, lower: true), tolerance: 1e-12, "tril(A) solve")
    }

    @Test func smallHandCases() throws {
        // 2x + y = 3, x + 3y = 5  →  x = 0.8, y = 1.4.
        let a = Matrix(rows: 2, columns: 2, elements: [2, 1, 1, 3])
        expectClose(try a.solve(Matrix(rows: 2, columns: 1, elements: [3, 5])),
                    Matrix(rows: 2, columns: 1, elements: [0.8, 1.4]), tolerance: 1e-15, "2×2 solve")
        expectClose(try a.inverse(), Matrix(rows: 2, columns: 2, elements: [0.6, -0.2, -0.2, 0.4]), tolerance: 1e-15, "2×2 inverse")
        // [[2, 1], [1, 2]] has eigenvalues 1, 3 with eigenvectors (1, −1)/√2, (1, 1)/√2.
        let (values, vectors) = try Matrix(rows: 2, columns: 2, elements: [2, 1, 1, 2]).symmetricEigendecomposition()
        #expect(abs(values[0] - 1) < 1e-14 && abs(values[1] - 3) < 1e-14)
        let r = 1 / 2.0.squareRoot()
        #expect(abs(abs(vectors[0, 0]) - r) < 1e-14 && abs(vectors[0, 0] + vectors[1, 0]) < 1e-14)
        #expect(abs(abs(vectors[0, 1]) - r) < 1e-14 && abs(vectors[0, 1] - vectors[1, 1]) < 1e-14)
        // Lower triangular [[2, 0], [1, 4]]·x = (2, 9)  →  x = (1, 2).
        let t = Matrix(rows: 2, columns: 2, elements: [2, 0, 1, 4])
        #expect(try t.solveTriangular(Matrix(rows: 2, columns: 1, elements: [2, 9]), lower: true).elements == [1, 2])
        // Empty matrices are fine.
        #expect(try Matrix(rows: 0, columns: 0).logDeterminant() == 0)
    }

    @Test func failuresThrowTypedErrors() {
        // Eigenvalues −1 and 3: the second leading minor is negative.
        #expect(throws: LinearAlgebraError.notPositiveDefinite(order: 2, minorIndex: 2)) {
            try Matrix(rows: 2, columns: 2, elements: [1, 2, 2, 1]).choleskyFactor()
        }
        #expect(throws: LinearAlgebraError.notPositiveDefinite(order: 3, minorIndex: 1)) {
            try Matrix(diagonal: [-1, 1, 1]).logDeterminant()
        }
        #expect(throws: LinearAlgebraError.singular(routine: "dgesv", order: 2, index: 2)) {
            try Matrix(rows: 2, columns: 2, elements: [1, 2, 2, 4]).solve(Matrix(identity: 2))
        }
        #expect(throws: LinearAlgebraError.singular(routine: "solveTriangular", order: 2, index: 2)) {
            try Matrix(rows: 2, columns: 2, elements: [1, 0, 3, 0]).solveTriangular(Matrix(identity: 2), lower: true)
        }
        #expect(throws: LinearAlgebraError.self) { try Matrix(rows: 2, columns: 3).choleskyFactor() }
        #expect(throws: LinearAlgebraError.self) { try Matrix(identity: 2).solve(Matrix(rows: 3, columns: 1)) }
        let message = LinearAlgebraError.notPositiveDefinite(order: 528, minorIndex: 17).description
        #expect(message.contains("dpotrf") && message.contains("528×528") && message.contains("17"))
        do {
            _ = try Matrix(rows: 2, columns: 3).symmetricEigendecomposition()
            Issue.record("a 2×3 matrix has no eigendecomposition")
        } catch {
            #expect("\(error)".contains("symmetricEigendecomposition") && "\(error)".contains("2×3"))
        }
    }

    @Test func gaussianMixtureDimension() throws {
        // A 528×528 covariance from 600 samples plus a ridge, as the GMM fits on 528-d features.
        let n = 528
        let a = randomSymmetricPositiveDefinite(n, samples: 600, ridge: 1e-3, seed: 6)
        let l = try a.choleskyFactor()
        let scale = a.elements.map(abs).max()!
        expectClose(l * l.transposed, a, tolerance: 1e-12 * scale, "528: L·Lᵀ")
        let (values, vectors) = try a.symmetricEigendecomposition()
        #expect(values.first! > 0)
        expectClose(vectors * Matrix(diagonal: values) * vectors.transposed, a, tolerance: 1e-11 * scale, "528: V·diag(λ)·Vᵀ")
        let logDeterminant = Matrix.logDeterminant(choleskyFactor: l)
        let fromEigenvalues = values.map { log($0) }.reduce(0, +)
        print("[linalg] 528: log det \(logDeterminant) vs Σ log λ \(fromEigenvalues)")
        #expect(abs(logDeterminant - fromEigenvalues) < 1e-8 * abs(fromEigenvalues))
        let b = randomMatrix(n, 4, seed: 7)
        let x = try a.solve(b)
        expectClose(a * x, b, tolerance: 1e-9, "528: A·x = b")
        let viaCholesky = try l.solveTriangular(try l.solveTriangular(b, lower: true), lower: true, transpose: true)
        expectClose(viaCholesky, x, tolerance: 1e-9 * x.elements.map(abs).max()!, "528: Cholesky solve vs dgesv")
    }
}
