import Tensor

// The conversions between covariances and the upper-triangular Cholesky factors of their
// precisions that the mixture is parameterised by (scikit-learn's `_compute_precision_cholesky`
// and `_compute_precision_cholesky_from_precisions`): covariances → factors after each M-step,
// precisions → factors for a given initialisation, and the one reconstruction of covariances from
// factors (a given initialisation, a mixture read from a weight file).

extension GaussianMixture {
    /// The upper-triangular `U = L⁻ᵀ` with `Σ = L·Lᵀ` (so `Σ⁻¹ = U·Uᵀ`) for each covariance;
    /// `1/√σ²` for diagonal and spherical ones (scikit-learn's `_compute_precision_cholesky`).
    ///
    /// - Throws: ``GaussianMixtureError/covarianceNotPositiveDefinite(component:regularization:)``
    ///   naming the first component whose covariance has no Cholesky factor (or a variance ≤ 0).
    static func precisionCholesky(of covariances: CovarianceParameters,
                                  regularization: Double) throws(GaussianMixtureError) -> CovarianceParameters {
        func factor(_ covariance: Matrix, component: Int?) throws(GaussianMixtureError) -> Matrix {
            do {
                let lower = try covariance.choleskyFactor(lower: true)
                return try lower.solveTriangular(Matrix(identity: covariance.rows), lower: true).transposed
            } catch {
                throw .covarianceNotPositiveDefinite(component: component, regularization: regularization)
            }
        }
        switch covariances {
        case let .full(matrices):
            var factors: [Matrix] = []
            for (component, covariance) in matrices.enumerated() {
                factors.append(try factor(covariance, component: component))
            }
            return .full(factors)
        case let .tied(covariance):
            return .tied(try factor(covariance, component: nil))
        case let .diagonal(variances):
            for (index, variance) in variances.elements.enumerated() where !(variance > 0) {
                throw .covarianceNotPositiveDefinite(component: index / variances.columns, regularization: regularization)
            }
            return .diagonal(Matrix(rows: variances.rows, columns: variances.columns,
                                    elements: variances.elements.map { 1 / $0.squareRoot() }))
        case let .spherical(variances):
            for (component, variance) in variances.enumerated() where !(variance > 0) {
                throw .covarianceNotPositiveDefinite(component: component, regularization: regularization)
            }
            return .spherical(variances.map { 1 / $0.squareRoot() })
        }
    }

    /// The covariances `Σ = (U·Uᵀ)⁻¹ = U⁻ᵀ·U⁻¹` from upper-triangular precision Cholesky factors.
    static func covariances(fromPrecisionCholesky factors: CovarianceParameters) -> CovarianceParameters {
        func invert(_ factor: Matrix) -> Matrix {
            // A valid factor has a positive diagonal, so the triangular solve cannot fail.
            let inverse = (try? factor.solveTriangular(Matrix(identity: factor.rows), lower: false))
                ?? Matrix(rows: factor.rows, columns: factor.columns, repeating: .nan)
            return Matrix.product(inverse, inverse, transposeA: true)
        }
        switch factors {
        case let .full(matrices): return .full(matrices.map(invert))
        case let .tied(matrix): return .tied(invert(matrix))
        case let .diagonal(roots):
            return .diagonal(Matrix(rows: roots.rows, columns: roots.columns, elements: roots.elements.map { 1 / ($0 * $0) }))
        case let .spherical(roots): return .spherical(roots.map { 1 / ($0 * $0) })
        }
    }

    /// The upper-triangular `U` with `Λ = U·Uᵀ` for a precision `Λ`: reverse rows and columns
    /// (`J·Λ·J`), take the lower Cholesky factor `L`, reverse back (`U = J·L·J`) — scikit-learn's
    /// `_compute_precision_cholesky_from_precisions`.
    static func upperCholesky(ofPrecision precision: Matrix) throws -> Matrix {
        let d = precision.rows
        func reversed(_ m: Matrix) -> Matrix {
            var result = m
            for i in 0..<d {
                for j in 0..<d { result[i, j] = m[d - 1 - i, d - 1 - j] }
            }
            return result
        }
        return reversed(try reversed(precision).choleskyFactor(lower: true))
    }
}
