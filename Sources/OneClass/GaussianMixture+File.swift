import Tensor

// A mixture inside a safetensors file (a detector file's `member{m}.mixture.*`), float64:
//
//   PREFIX.weights              [k]
//   PREFIX.means                [k, d]
//   PREFIX.precisions_cholesky  [k, d, d] full, [d, d] tied, [k, d] diagonal, [k] spherical
//
// The covariances are not stored (they play no part in scoring); reading recomputes them from
// the precision factors. The configuration and convergence record travel in the file's JSON.

/// Why a mixture stored in a safetensors file cannot be read: the first problem, naming the
/// tensor where there is one.
struct StoredMixtureProblem: Error, CustomStringConvertible {
    /// What is wrong.
    let description: String
}

extension GaussianMixture {
    /// The mixture's parameter tensors under `prefix` (`PREFIX.weights`, `PREFIX.means`,
    /// `PREFIX.precisions_cholesky`), float64 so scores round-trip exactly.
    func storedEntries(prefix: String) -> [(String, SafeTensors.Entry)] {
        let k = componentCount, d = featureCount
        let factors: SafeTensors.Entry
        switch precisionsCholesky {
        case let .full(matrices): factors = .float64(shape: [k, d, d], values: matrices.flatMap(\.elements))
        case let .tied(matrix): factors = .float64(shape: [d, d], values: matrix.elements)
        case let .diagonal(matrix): factors = .float64(shape: [k, d], values: matrix.elements)
        case let .spherical(values): factors = .float64(shape: [k], values: values)
        }
        return [("\(prefix).weights", .float64(shape: [k], values: weights)),
                ("\(prefix).means", .float64(shape: [k, d], values: means.elements)),
                ("\(prefix).precisions_cholesky", factors)]
    }

    /// Reads the mixture ``storedEntries(prefix:)`` wrote, validating before use: each tensor's
    /// presence and shape (`k` components, `d` features as recorded), finite values, weights
    /// that form a probability distribution, and upper-triangular precision factors with a
    /// positive diagonal. Adds the keys it read to `keys`.
    ///
    /// - Throws: ``StoredMixtureProblem`` describing the first problem.
    static func read(from file: SafeTensors, prefix: String, configuration: Configuration, componentCount k: Int,
                     featureCount d: Int, converged: Bool, iterationCount: Int, lowerBound: Double?,
                     lowerBoundHistory: [Double], keys: inout Set<String>) throws(StoredMixtureProblem) -> GaussianMixture {
        guard k >= 1, k == configuration.componentCount, d >= 1 else {
            throw StoredMixtureProblem(description: "\(k) components and \(d) features recorded (expected ≥ 1, components as configured)")
        }
        func values(_ name: String, shape: [Int]) throws(StoredMixtureProblem) -> [Double] {
            let key = "\(prefix).\(name)"
            keys.insert(key)
            let stored: [Double]
            do {
                let info = try file.info(named: key)
                guard info.shape == shape else { throw StoredMixtureProblem(description: "'\(key)' has shape \(info.shape), expected \(shape)") }
                stored = try file.doubles(named: key)
            } catch let problem as StoredMixtureProblem {
                throw problem
            } catch {
                throw StoredMixtureProblem(description: "\(error)")
            }
            guard stored.allSatisfy(\.isFinite) else { throw StoredMixtureProblem(description: "'\(key)' holds a NaN or infinite value") }
            return stored
        }
        let weights = try values("weights", shape: [k])
        let means = Matrix(rows: k, columns: d, elements: try values("means", shape: [k, d]))
        guard weights.allSatisfy({ $0 >= 0 }), abs(weights.reduce(0, +) - 1) < 1e-6 else {
            throw StoredMixtureProblem(description: "the mixture weights are not a probability distribution")
        }
        let factors: CovarianceParameters
        switch configuration.covarianceType {
        case .full:
            let all = try values("precisions_cholesky", shape: [k, d, d])
            factors = .full((0..<k).map { Matrix(rows: d, columns: d, elements: Array(all[($0 * d * d)..<(($0 + 1) * d * d)])) })
        case .tied:
            factors = .tied(Matrix(rows: d, columns: d, elements: try values("precisions_cholesky", shape: [d, d])))
        case .diagonal:
            factors = .diagonal(Matrix(rows: k, columns: d, elements: try values("precisions_cholesky", shape: [k, d])))
        case .spherical:
            factors = .spherical(try values("precisions_cholesky", shape: [k]))
        }
        // The factors are checked (upper triangular, positive diagonal) before the covariances are
        // rebuilt from them, so the triangular solves cannot fail.
        if let problem = shapeProblem(configuration: configuration, weights: weights, means: means,
                                      covariances: factors, precisionsCholesky: factors) {
            throw StoredMixtureProblem(description: problem)
        }
        let covariances = covariances(fromPrecisionCholesky: factors)
        return GaussianMixture(
            configuration: configuration,
            parameters: .init(weights: weights, means: means, covariances: covariances, precisionsCholesky: factors),
            converged: converged, iterationCount: iterationCount,
            lowerBound: lowerBound ?? -.infinity, lowerBoundHistory: lowerBoundHistory)
    }
}
