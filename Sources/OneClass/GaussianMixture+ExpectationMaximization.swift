import Foundation
import Tensor

// The E-step (log-densities through Cholesky factors of the precisions, responsibilities by
// log-sum-exp) and the M-step (weights, means and covariances from responsibilities, then the
// precision Cholesky factors, GaussianMixture+Covariance.swift), as scikit-learn's
// `_estimate_log_gaussian_prob` and `_estimate_gaussian_parameters`.

extension GaussianMixture {
    /// The parameters EM iterates on.
    struct Parameters: Sendable {
        /// `[k]` mixture weights.
        var weights: [Double]
        /// `[k, d]` means.
        var means: Matrix
        /// Covariances, regularisation included.
        var covariances: CovarianceParameters
        /// Upper-triangular Cholesky factors of the precisions (square roots for diagonal/spherical).
        var precisionsCholesky: CovarianceParameters
    }

    // MARK: - E-step

    /// The E-step: the mean log-likelihood of `x` and the log-responsibilities `[n, k]`
    /// (scikit-learn's `_e_step`).
    static func expectation(_ x: Matrix, _ parameters: Parameters) -> (meanLogLikelihood: Double, logResponsibilities: Matrix) {
        var weighted = weightedLogProbabilities(x, parameters)
        let norms = logSumExpRows(weighted)
        let k = weighted.columns
        weighted.elements.withUnsafeMutableBufferPointer { values in
            for i in 0..<norms.count {
                let row = values.baseAddress! + i &* k
                for j in 0..<k { row[j] -= norms[i] }
            }
        }
        return (norms.reduce(0, +) / Double(norms.count), weighted)
    }

    /// `log πₖ + log N(xᵢ | μₖ, Σₖ)`, `[n, k]` (scikit-learn's `_estimate_weighted_log_prob`).
    static func weightedLogProbabilities(_ x: Matrix, _ parameters: Parameters) -> Matrix {
        var result = logGaussianProbabilities(x, means: parameters.means, precisionsCholesky: parameters.precisionsCholesky)
        let n = result.rows, k = result.columns
        let logWeights = parameters.weights.map { Foundation.log($0) }
        result.elements.withUnsafeMutableBufferPointer { values in
            for i in 0..<n {
                let row = values.baseAddress! + i &* k
                for j in 0..<k { row[j] += logWeights[j] }
            }
        }
        return result
    }

    /// `log N(xᵢ | μₖ, Σₖ) = −½(d·log 2π + ‖(xᵢ − μₖ)·Uₖ‖²) + Σ log diag Uₖ`, `[n, k]`.
    ///
    /// Full and tied: one in-place triangular BLAS product `[n, d]·[d, d]` per component whitens
    /// every sample at once (``Matrix/whitenedSquaredNorms(_:centres:triangulars:upper:)``, one
    /// reused buffer). Diagonal and spherical: a scaled squared distance per sample and component.
    static func logGaussianProbabilities(_ x: Matrix, means: Matrix, precisionsCholesky: CovarianceParameters) -> Matrix {
        let n = x.rows, d = x.columns, k = means.rows
        var result = Matrix(rows: n, columns: k)
        let constant = Double(d) * Foundation.log(2 * Double.pi)
        func store(_ squaredNorm: (Int) -> Double, component: Int, logDeterminant: Double) {
            result.elements.withUnsafeMutableBufferPointer { values in
                for i in 0..<n { values[i &* k &+ component] = -0.5 * (constant + squaredNorm(i)) + logDeterminant }
            }
        }
        switch precisionsCholesky {
        case let .full(factors):
            let norms = Matrix.whitenedSquaredNorms(x, centres: means, triangulars: factors, upper: true)
            for component in 0..<k {
                store({ norms[$0, component] }, component: component, logDeterminant: logDiagonalSum(factors[component]))
            }
        case let .tied(factor):
            let logDeterminant = logDiagonalSum(factor)
            let norms = Matrix.whitenedSquaredNorms(x, centres: means, triangulars: Array(repeating: factor, count: k), upper: true)
            for component in 0..<k {
                store({ norms[$0, component] }, component: component, logDeterminant: logDeterminant)
            }
        case let .diagonal(roots):
            for component in 0..<k {
                let scale = roots.row(component)
                let logDeterminant = scale.reduce(0) { $0 + Foundation.log($1) }
                let distances = scaledSquaredDistances(x, centre: means.row(component), scale: scale)
                store({ distances[$0] }, component: component, logDeterminant: logDeterminant)
            }
        case let .spherical(roots):
            for component in 0..<k {
                let scale = Array(repeating: roots[component], count: d)
                let distances = scaledSquaredDistances(x, centre: means.row(component), scale: scale)
                store({ distances[$0] }, component: component, logDeterminant: Double(d) * Foundation.log(roots[component]))
            }
        }
        return result
    }

    /// `Σⱼ log Uⱼⱼ`, the log-determinant of a precision Cholesky factor (half that of the precision).
    static func logDiagonalSum(_ factor: Matrix) -> Double {
        var sum = 0.0
        for j in 0..<factor.rows { sum += Foundation.log(factor[j, j]) }
        return sum
    }

    /// `‖rowᵢ‖²` for each row of `m`, `[rows]`.
    static func rowSquaredNorms(_ m: Matrix) -> [Double] {
        let d = m.columns
        return m.elements.withUnsafeBufferPointer { values in
            (0..<m.rows).map { i in
                let row = values.baseAddress! + i &* d
                var accumulator = SIMD4<Double>()
                var j = 0
                while j &+ 4 <= d {
                    let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD4<Double>.self)
                    accumulator += v * v
                    j &+= 4
                }
                var sum = accumulator.sum()
                while j < d { sum += row[j] * row[j]; j &+= 1 }
                return sum
            }
        }
    }

    /// `Σⱼ ((xᵢⱼ − cⱼ)·sⱼ)²` for each row of `x`, `[n]`.
    static func scaledSquaredDistances(_ x: Matrix, centre: [Double], scale: [Double]) -> [Double] {
        let d = x.columns
        return x.elements.withUnsafeBufferPointer { values in
            centre.withUnsafeBufferPointer { c in
                scale.withUnsafeBufferPointer { s in
                    (0..<x.rows).map { i in
                        let row = values.baseAddress! + i &* d
                        var accumulator = SIMD4<Double>()
                        var j = 0
                        while j &+ 4 <= d {
                            let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD4<Double>.self)
                            let mean = UnsafeRawPointer(c.baseAddress! + j).loadUnaligned(as: SIMD4<Double>.self)
                            let factor = UnsafeRawPointer(s.baseAddress! + j).loadUnaligned(as: SIMD4<Double>.self)
                            let y = (v - mean) * factor
                            accumulator += y * y
                            j &+= 4
                        }
                        var sum = accumulator.sum()
                        while j < d {
                            let y = (row[j] - c[j]) * s[j]
                            sum += y * y
                            j &+= 1
                        }
                        return sum
                    }
                }
            }
        }
    }

    /// `log Σⱼ exp(mᵢⱼ)` for each row, shifted by the row maximum (a row whose maximum is not
    /// finite gives that maximum).
    static func logSumExpRows(_ m: Matrix) -> [Double] {
        let k = m.columns
        return m.elements.withUnsafeBufferPointer { values in
            (0..<m.rows).map { i in
                let row = values.baseAddress! + i &* k
                var largest = -Double.infinity
                for j in 0..<k where row[j] > largest { largest = row[j] }
                guard largest.isFinite else { return largest }
                var sum = 0.0
                for j in 0..<k { sum += Foundation.exp(row[j] - largest) }
                return largest + Foundation.log(sum)
            }
        }
    }

    // MARK: - M-step

    /// The M-step: parameters from responsibilities `[n, k]`, weights normalised to sum to 1
    /// (scikit-learn's `_m_step`).
    static func maximization(_ x: Matrix, responsibilities: Matrix,
                             _ configuration: Configuration) throws(GaussianMixtureError) -> Parameters {
        var (counts, means, covariances) = estimateParameters(x, responsibilities: responsibilities,
                                                               regularization: configuration.regularization,
                                                               covarianceType: configuration.covarianceType)
        let total = counts.reduce(0, +)
        for j in counts.indices { counts[j] /= total }
        return Parameters(weights: counts, means: means, covariances: covariances,
                          precisionsCholesky: try precisionCholesky(of: covariances, regularization: configuration.regularization))
    }

    /// The responsibility-weighted counts `Nₖ = Σᵢ rᵢₖ + 10ε` `[k]`, means `[k, d]` and
    /// covariances (regularisation added), as scikit-learn's `_estimate_gaussian_parameters`.
    ///
    /// Full: `Σₖ = (Rₖ ⊙ (X − μₖ))ᵀ(X − μₖ) / Nₖ + reg·I`, one `dsyrk` per component over the
    /// samples whose responsibility is not exactly 0 (``Matrix/weightedScatters(_:centres:weights:)``;
    /// the others add nothing, and with nearly hard responsibilities they are most). Tied: the
    /// sum of those scatters plus `Xᵀ·diag(1 − Σₖ rᵢₖ)·X`, over `Σₖ Nₖ`. Diagonal: `Σᵢ rᵢₖ(xᵢⱼ − μₖⱼ)² / Nₖ + reg`. Spherical:
    /// the mean over features of the diagonal variances.
    static func estimateParameters(_ x: Matrix, responsibilities: Matrix, regularization: Double,
                                   covarianceType: CovarianceType) -> (counts: [Double], means: Matrix, covariances: CovarianceParameters) {
        let n = x.rows, d = x.columns, k = responsibilities.columns
        var counts = [Double](repeating: 10 * Double.ulpOfOne, count: k)
        for i in 0..<n {
            for j in 0..<k { counts[j] += responsibilities[i, j] }
        }
        var means = Matrix.product(responsibilities, x, transposeA: true)
        means.elements.withUnsafeMutableBufferPointer { values in
            for j in 0..<k {
                for p in 0..<d { values[j &* d &+ p] /= counts[j] }
            }
        }

        switch covarianceType {
        case .full:
            let scatters = Matrix.weightedScatters(x, centres: means, weights: responsibilities)
            let matrices = (0..<k).map { component in
                scatters[component].dividingElements(by: counts[component]).addingToDiagonal(regularization)
            }
            return (counts, means, .full(matrices))
        case .tied:
            var scatter = Matrix(rows: d, columns: d)
            for componentScatter in Matrix.weightedScatters(x, centres: means, weights: responsibilities) {
                scatter = scatter + componentScatter
            }
            // scikit-learn's XᵀX − Σₖ Nₖμₖμₖᵀ equals the within scatter above plus Xᵀ·diag(1 − Σₖ rᵢₖ)·X:
            // zero in EM (rows sum to 1), but the k-means++ and random-from-data starts put weight
            // on k samples only, and scikit-learn's tied start then includes every other sample uncentred.
            var leftover = x
            leftover.elements.withUnsafeMutableBufferPointer { values in
                for i in 0..<n {
                    var rowSum = 0.0
                    for j in 0..<k { rowSum += responsibilities[i, j] }
                    let row = values.baseAddress! + i &* d
                    for p in 0..<d { row[p] *= 1 - rowSum }
                }
            }
            scatter = scatter + Matrix.product(leftover, x, transposeA: true)
            let total = counts.reduce(0, +)
            return (counts, means, .tied(scatter.dividingElements(by: total).addingToDiagonal(regularization)))
        case .diagonal, .spherical:
            var variances = Matrix(rows: k, columns: d)
            x.elements.withUnsafeBufferPointer { samples in
                means.elements.withUnsafeBufferPointer { centres in
                    variances.elements.withUnsafeMutableBufferPointer { output in
                        for i in 0..<n {
                            let row = samples.baseAddress! + i &* d
                            for j in 0..<k {
                                let weight = responsibilities[i, j]
                                let centre = centres.baseAddress! + j &* d
                                let target = output.baseAddress! + j &* d
                                for p in 0..<d {
                                    let difference = row[p] - centre[p]
                                    target[p] += weight * difference * difference
                                }
                            }
                        }
                        for j in 0..<k {
                            for p in 0..<d { output[j &* d &+ p] = output[j &* d &+ p] / counts[j] + regularization }
                        }
                    }
                }
            }
            if covarianceType == .diagonal { return (counts, means, .diagonal(variances)) }
            let spherical = (0..<k).map { j in variances.row(j).reduce(0, +) / Double(d) }
            return (counts, means, .spherical(spherical))
        }
    }
}

extension Matrix {
    /// Every element divided by `divisor`.
    func dividingElements(by divisor: Double) -> Matrix {
        Matrix(rows: rows, columns: columns, elements: elements.map { $0 / divisor })
    }

    /// `exp` of every element.
    func exponentiated() -> Matrix {
        Matrix(rows: rows, columns: columns, elements: elements.map { Foundation.exp($0) })
    }
}
