import Tensor

extension GaussianMixture: Codable {
    private enum CodingKeys: String, CodingKey {
        case formatVersion, configuration, weights, means, covariances, precisionsCholesky
        case converged, iterationCount, lowerBound, lowerBoundHistory
    }

    /// The version of the encoded layout, written as `formatVersion`.
    public static let codingFormatVersion = 1

    /// Encodes the configuration, the fitted parameters (weights, means, covariances and precision
    /// Cholesky factors — doubles, which JSON round-trips exactly) and the convergence record. A
    /// lower bound of `−∞` (no EM iteration ran) is written as `null`.
    ///
    /// Size: a full mixture stores `2·k·d²` doubles (6 × 528² × 2 ≈ 3.3 M, ~70 MB of JSON); a
    /// ``Initialization/responsibilities(_:)`` or ``Initialization/given(weights:means:precisions:)``
    /// configuration is stored with its data.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.codingFormatVersion, forKey: .formatVersion)
        try container.encode(configuration, forKey: .configuration)
        try container.encode(weights, forKey: .weights)
        try container.encode(means, forKey: .means)
        try container.encode(covariances, forKey: .covariances)
        try container.encode(precisionsCholesky, forKey: .precisionsCholesky)
        try container.encode(converged, forKey: .converged)
        try container.encode(iterationCount, forKey: .iterationCount)
        try container.encode(lowerBound.isFinite ? lowerBound : nil, forKey: .lowerBound)
        try container.encode(lowerBoundHistory, forKey: .lowerBoundHistory)
    }

    /// Decodes a model written by ``encode(to:)``.
    ///
    /// - Throws: `DecodingError.dataCorrupted` for an unknown format version or parameters whose
    ///   shapes disagree (weights, means, covariance type and extents), or a precision factor that
    ///   is not upper triangular with a positive diagonal.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decode(Int.self, forKey: .formatVersion)
        guard version == Self.codingFormatVersion else {
            throw DecodingError.dataCorruptedError(forKey: .formatVersion, in: container,
                                                   debugDescription: "GaussianMixture: unknown format version \(version)")
        }
        let configuration = try container.decode(Configuration.self, forKey: .configuration)
        let weights = try container.decode([Double].self, forKey: .weights)
        let means = try container.decode(Matrix.self, forKey: .means)
        let covariances = try container.decode(CovarianceParameters.self, forKey: .covariances)
        let factors = try container.decode(CovarianceParameters.self, forKey: .precisionsCholesky)
        if let problem = Self.shapeProblem(configuration: configuration, weights: weights, means: means,
                                           covariances: covariances, precisionsCholesky: factors) {
            throw DecodingError.dataCorruptedError(forKey: .precisionsCholesky, in: container,
                                                   debugDescription: "GaussianMixture: \(problem)")
        }
        self.init(configuration: configuration,
                  parameters: Parameters(weights: weights, means: means, covariances: covariances, precisionsCholesky: factors),
                  converged: try container.decode(Bool.self, forKey: .converged),
                  iterationCount: try container.decode(Int.self, forKey: .iterationCount),
                  lowerBound: try container.decodeIfPresent(Double.self, forKey: .lowerBound) ?? -.infinity,
                  lowerBoundHistory: try container.decode([Double].self, forKey: .lowerBoundHistory))
    }

    /// A description of the first inconsistency between the parameters' shapes, or `nil`.
    static func shapeProblem(configuration: Configuration, weights: [Double], means: Matrix,
                                     covariances: CovarianceParameters, precisionsCholesky: CovarianceParameters) -> String? {
        let k = weights.count, d = means.columns
        if k != configuration.componentCount { return "\(k) weights for \(configuration.componentCount) components" }
        if means.rows != k { return "means have \(means.rows) rows for \(k) components" }
        for parameters in [covariances, precisionsCholesky] {
            if parameters.covarianceType != configuration.covarianceType {
                return "\(parameters.covarianceType) parameters in a \(configuration.covarianceType) model"
            }
            switch parameters {
            case let .full(matrices):
                if matrices.count != k || matrices.contains(where: { $0.rows != d || $0.columns != d }) {
                    return "full parameters must be \(k) matrices \(d)×\(d)"
                }
            case let .tied(matrix):
                if matrix.rows != d || matrix.columns != d { return "the tied parameter must be \(d)×\(d)" }
            case let .diagonal(matrix):
                if matrix.rows != k || matrix.columns != d { return "diagonal parameters must be \(k)×\(d)" }
            case let .spherical(values):
                if values.count != k { return "spherical parameters must number \(k)" }
            }
        }
        func isUpperTriangular(_ m: Matrix) -> Bool {
            for i in 0..<m.rows {
                if !(m[i, i] > 0) { return false }
                for j in 0..<i where m[i, j] != 0 { return false }
            }
            return true
        }
        switch precisionsCholesky {
        case let .full(matrices) where !matrices.allSatisfy(isUpperTriangular):
            return "full precision Cholesky factors must be upper triangular with a positive diagonal"
        case let .tied(matrix) where !isUpperTriangular(matrix):
            return "the tied precision Cholesky factor must be upper triangular with a positive diagonal"
        case let .diagonal(matrix) where !matrix.elements.allSatisfy({ $0 > 0 }):
            return "diagonal precision factors must be positive"
        case let .spherical(values) where !values.allSatisfy({ $0 > 0 }):
            return "spherical precision factors must be positive"
        default:
            return nil
        }
    }
}
