import Foundation
import OneClass
import Tensor
import Testing

/// A JSON array of any nesting depth holding numbers, flattened in row-major order.
struct NestedNumbers: Decodable {
    let values: [Double]

    init(from decoder: any Decoder) throws {
        if let number = try? decoder.singleValueContainer().decode(Double.self) {
            values = [number]
            return
        }
        var container = try decoder.unkeyedContainer()
        var values: [Double] = []
        while !container.isAtEnd { values += try container.decode(NestedNumbers.self).values }
        self.values = values
    }
}

/// Tests/OneClassTests/Fixtures/gmm_sklearn.json, written by Scripts/reference/gmm_fixtures.py.
struct SklearnFixtures: Decodable {
    struct Dataset: Decodable { let x: [[Double]] }
    struct Initial: Decodable { let weights: [Double]; let means: NestedNumbers; let precisions: NestedNumbers }
    struct GivenCase: Decodable {
        let dataset: String, covarianceType: String, nComponents: Int, regCovar: Double, tol: Double, maxIter: Int
        let `init`: Initial
        let weights: [Double], means: NestedNumbers, covariances: NestedNumbers, precisionsCholesky: NestedNumbers?
        let nIter: Int, converged: Bool, lowerBound: Double
        let scoreSamples: [Double], predictProba: NestedNumbers, bic: Double, aic: Double
    }
    struct MStepCase: Decodable {
        let dataset: String, covarianceType: String, regCovar: Double
        let nk: [Double], means: NestedNumbers, covariances: NestedNumbers
    }
    struct OptimumCase: Decodable {
        let dataset: String, covarianceType: String, nComponents: Int, initParams: String, nInit: Int, score: Double
    }
    let sklearnVersion: String
    let datasets: [String: Dataset]
    let given: [GivenCase]
    let mStepResp: [[Double]]
    let mStep: [MStepCase]
    let mStepOnehotIndices: [Int]
    let mStepOnehot: [MStepCase]
    let kmeanspp: [OptimumCase]

    static let shared: SklearnFixtures = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/gmm_sklearn.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(SklearnFixtures.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot read \(url.path): \(error)")
        }
    }()

    /// A dataset as a `[n, d]` matrix.
    func matrix(_ name: String) -> Matrix {
        let rows = datasets[name]!.x
        return Matrix(rows: rows.count, columns: rows[0].count, elements: rows.flatMap { $0 })
    }
}

/// scikit-learn's covariance type names.
func covarianceType(_ sklearnName: String) -> GaussianMixture.CovarianceType {
    switch sklearnName {
    case "full": return .full
    case "tied": return .tied
    case "diag": return .diagonal
    default: return .spherical
    }
}

/// Covariance-shaped parameters of `type` from flattened scikit-learn arrays.
func covarianceParameters(_ values: [Double], _ type: GaussianMixture.CovarianceType, components k: Int,
                          features d: Int) -> GaussianMixture.CovarianceParameters {
    switch type {
    case .full:
        return .full((0..<k).map { Matrix(rows: d, columns: d, elements: Array(values[($0 * d * d)..<(($0 + 1) * d * d)])) })
    case .tied: return .tied(Matrix(rows: d, columns: d, elements: values))
    case .diagonal: return .diagonal(Matrix(rows: k, columns: d, elements: values))
    case .spherical: return .spherical(values)
    }
}

extension GaussianMixture.CovarianceParameters {
    /// All values, flattened as scikit-learn's arrays.
    var flattened: [Double] {
        switch self {
        case let .full(matrices): return matrices.flatMap(\.elements)
        case let .tied(matrix): return matrix.elements
        case let .diagonal(matrix): return matrix.elements
        case let .spherical(values): return values
        }
    }
}

/// The worst differences of `actual` from `expected`: absolute, and relative to each element
/// (elements smaller than 1e-3 × the largest are measured against that instead).
func worstDifferences(_ actual: [Double], _ expected: [Double]) -> (absolute: Double, relative: Double) {
    let scale = expected.map(abs).max() ?? 0
    var absolute = 0.0, relative = 0.0
    for (a, e) in zip(actual, expected) {
        let difference = abs(a - e)
        absolute = max(absolute, difference)
        relative = max(relative, difference / max(abs(e), 1e-3 * scale, 1e-300))
    }
    return (absolute, relative)
}

/// Expects `actual` to match `expected` element-wise within `rtol` relative to each element
/// (or to 1e-3 × the largest element for small ones) or within `atol`, and prints the worst gaps.
func expectClose(_ actual: [Double], _ expected: [Double], rtol: Double, atol: Double = 0, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    let scale = expected.map(abs).max() ?? 0
    let (absolute, relative) = worstDifferences(actual, expected)
    print("[parity] \(label): max abs \(absolute), max rel \(relative)")
    let ok = zip(actual, expected).allSatisfy { a, e in abs(a - e) <= max(atol, rtol * max(abs(e), 1e-3 * scale)) }
    #expect(ok, "\(label): max abs diff \(absolute), max rel diff \(relative) (rtol \(rtol), atol \(atol))", sourceLocation: sourceLocation)
}

/// Three well-separated anisotropic clusters, `[n, d]`, reproducible from `seed`.
func clusteredData(samples n: Int = 120, features d: Int = 3, seed: UInt64 = 1) -> Matrix {
    var generator = RandomGenerator(seed: seed)
    var x = Matrix(rows: n, columns: d)
    for i in 0..<n {
        let cluster = i % 3
        for j in 0..<d {
            x[i, j] = Double(cluster) * 8 + generator.nextStandardNormal() * Double(1 + (j + cluster) % 3) * 0.5
        }
    }
    return x
}
