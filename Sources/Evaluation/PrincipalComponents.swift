import Tensor

/// Principal component analysis by eigendecomposition of the sample covariance, for 2-D views of
/// 528-d features (the paper's Fig. 1 uses t-SNE; PCA is linear, deterministic and cheap).
///
/// As scikit-learn's `PCA(n_components=k).fit(x)`: the covariance uses the `n − 1` denominator,
/// components are unit vectors in order of decreasing variance. Signs differ from scikit-learn's
/// `svd_flip`: here each component's largest-magnitude loading is positive (deterministic, but a
/// component may point the other way than in scikit-learn).
public struct PrincipalComponents: Codable, Equatable, Sendable {
    /// The feature means subtracted before projecting, `[d]`.
    public let mean: [Double]
    /// The components, one unit vector per row, `[k, d]`, by decreasing variance.
    public let components: Matrix
    /// The variance along each component (the covariance's eigenvalues), `[k]`.
    public let explainedVariances: [Double]
    /// The total variance (the covariance's trace).
    public let totalVariance: Double

    /// The fraction of the total variance along each component, `[k]`.
    public var explainedVarianceRatios: [Double] { explainedVariances.map { $0 / totalVariance } }

    /// Fits the first `componentCount` principal components of the rows of `x`.
    ///
    /// - Parameters:
    ///   - x: Samples `[n, d]`, one per row.
    ///   - componentCount: How many components to keep, `1 ≤ k ≤ d`.
    /// - Throws: `LinearAlgebraError` if the eigendecomposition fails.
    /// - Precondition: `n ≥ 2` and `1 ≤ componentCount ≤ d`.
    public init(fitting x: Matrix, componentCount: Int = 2) throws {
        let n = x.rows, d = x.columns
        precondition(n >= 2, "PrincipalComponents: needs at least 2 samples, got \(n)")
        precondition(componentCount >= 1 && componentCount <= d,
                     "PrincipalComponents: componentCount \(componentCount) outside 1...\(d)")
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { mean[j] += x[i, j] }
        }
        mean = mean.map { $0 / Double(n) }
        let covariance = Matrix.weightedGram(x.subtractingFromRows(mean), alpha: 1 / Double(n - 1))
        let (values, vectors) = try covariance.symmetricEigendecomposition()   // ascending
        var components = Matrix(rows: componentCount, columns: d)
        var variances: [Double] = []
        for k in 0..<componentCount {
            let column = d - 1 - k
            var direction = (0..<d).map { vectors[$0, column] }
            let largest = direction.indices.max { abs(direction[$0]) < abs(direction[$1]) }!
            if direction[largest] < 0 { direction = direction.map { -$0 } }
            for j in 0..<d { components[k, j] = direction[j] }
            variances.append(max(values[column], 0))
        }
        self.mean = mean
        self.components = components
        self.explainedVariances = variances
        self.totalVariance = covariance.trace
    }

    /// Projects samples onto the components: `(x − mean) · componentsᵀ`, `[n, d]` → `[n, k]`.
    ///
    /// - Precondition: `x` has `d` columns.
    public func transform(_ x: Matrix) -> Matrix {
        precondition(x.columns == mean.count,
                     "PrincipalComponents.transform: \(x.columns) features, the components have \(mean.count)")
        return Matrix.product(x.subtractingFromRows(mean), components, transposeB: true)
    }
}
