import Foundation
import OneClass
import Tensor
import Testing

/// Behaviour, errors and persistence of GaussianMixture.
@Suite struct GaussianMixtureTests {
    @Test func fitsSeparatedClustersAndPredicts() throws {
        let x = clusteredData()
        var generator = RandomGenerator(seed: 42)
        let model = try GaussianMixture(fitting: x, configuration: .init(componentCount: 3), using: &generator)
        #expect(model.converged)
        #expect(abs(model.weights.reduce(0, +) - 1) < 1e-12)
        let labels = try model.predict(x)
        // Samples i and i + 3 come from the same cluster, and the three clusters get distinct labels.
        #expect((0..<(x.rows - 3)).allSatisfy { labels[$0] == labels[$0 + 3] })
        #expect(Set(labels.prefix(3)).count == 3)
        let probabilities = try model.predictProbabilities(x)
        for i in 0..<x.rows {
            #expect(abs(probabilities.row(i).reduce(0, +) - 1) < 1e-12)
        }
        #expect(model.parameterCount == 3 * 6 + 3 * 3 + 2)
        #expect(model.lowerBoundHistory.count == model.iterationCount && model.lowerBoundHistory.last == model.lowerBound)
    }

    @Test func sameSeedSameModel() throws {
        let x = clusteredData()
        var first = RandomGenerator(seed: 9), second = RandomGenerator(seed: 9)
        let configuration = GaussianMixture.Configuration(componentCount: 3, covarianceType: .diagonal, initializationCount: 3,
                                                          initialization: .kMeans)
        #expect(try GaussianMixture(fitting: x, configuration: configuration, using: &first)
                == GaussianMixture(fitting: x, configuration: configuration, using: &second))
    }

    @Test func restartsKeepTheBestLowerBound() throws {
        let x = clusteredData(samples: 90, features: 2, seed: 4)
        var single = RandomGenerator(seed: 11), several = RandomGenerator(seed: 11)
        let one = try GaussianMixture(fitting: x, configuration: .init(componentCount: 4, initialization: .random), using: &single)
        let best = try GaussianMixture(fitting: x, configuration: .init(componentCount: 4, initializationCount: 5, initialization: .random),
                                       using: &several)
        #expect(best.lowerBound >= one.lowerBound)
    }

    // MARK: - Errors

    @Test func fewerSamplesThanComponentsThrows() {
        var generator = RandomGenerator(seed: 0)
        #expect(throws: GaussianMixtureError.tooFewSamples(sampleCount: 2, componentCount: 3)) {
            try GaussianMixture(fitting: Matrix(rows: 2, columns: 4), configuration: .init(componentCount: 3), using: &generator)
        }
    }

    @Test func nonFiniteInputNamesTheRow() throws {
        var x = clusteredData()
        x[7, 1] = .nan
        var generator = RandomGenerator(seed: 0)
        #expect(throws: GaussianMixtureError.nonFiniteInput(row: 7, column: 1)) {
            try GaussianMixture(fitting: x, configuration: .init(componentCount: 2), using: &generator)
        }
        let model = try GaussianMixture(fitting: clusteredData(), configuration: .init(componentCount: 3), using: &generator)
        x[7, 1] = 0
        x[11, 2] = .infinity
        #expect(throws: GaussianMixtureError.nonFiniteInput(row: 11, column: 2)) { try model.scoreSamples(x) }
        #expect(throws: GaussianMixtureError.featureCountMismatch(expected: 3, actual: 2)) {
            try model.scoreSamples(Matrix(rows: 1, columns: 2))
        }
    }

    @Test("A collapsed component without regularization names the component",
          arguments: [(GaussianMixture.CovarianceType.full, 0 as Int?), (.tied, nil), (.diagonal, 0), (.spherical, 0)])
    func collapsedComponentThrows(type: GaussianMixture.CovarianceType, component: Int?) {
        // Every sample sits on one of three points, so each component's covariance is zero.
        var x = Matrix(rows: 30, columns: 2)
        for i in 0..<30 { x[i, 0] = Double(i % 3) * 5; x[i, 1] = Double(i % 3) }
        var generator = RandomGenerator(seed: 1)
        let configuration = GaussianMixture.Configuration(componentCount: 3, covarianceType: type, regularization: 0,
                                                          initialization: .kMeans)
        do {
            _ = try GaussianMixture(fitting: x, configuration: configuration, using: &generator)
            Issue.record("expected covarianceNotPositiveDefinite for \(type)")
        } catch let error {
            guard case let .covarianceNotPositiveDefinite(failed, regularization) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(regularization == 0)
            #expect((failed == nil) == (component == nil))
            #expect(error.description.contains("increasing regularization"))
        }
        // The default regularization makes the same data fit.
        var again = RandomGenerator(seed: 1)
        var regularized = configuration
        regularized.regularization = 1e-6
        #expect(throws: Never.self) { try GaussianMixture(fitting: x, configuration: regularized, using: &again) }
    }

    @Test func invalidConfigurationAndInitializationThrow() {
        let x = clusteredData()
        var generator = RandomGenerator(seed: 0)
        #expect(throws: GaussianMixtureError.self) {
            try GaussianMixture(fitting: x, configuration: .init(componentCount: 0), using: &generator)
        }
        #expect(throws: GaussianMixtureError.self) {
            try GaussianMixture(fitting: x, configuration: .init(componentCount: 2, tolerance: -1), using: &generator)
        }
        let badWeights = GaussianMixture.Initialization.given(
            weights: [0.5, 0.6], means: Matrix(rows: 2, columns: 3),
            precisions: .full([Matrix(identity: 3), Matrix(identity: 3)]))
        #expect(throws: GaussianMixtureError.invalidInitialization("weights must sum to 1, got 1.1")) {
            try GaussianMixture(fitting: x, configuration: .init(componentCount: 2, initialization: badWeights), using: &generator)
        }
        let wrongType = GaussianMixture.Initialization.given(weights: [0.5, 0.5], means: Matrix(rows: 2, columns: 3),
                                                             precisions: .spherical([1, 1]))
        #expect(throws: GaussianMixtureError.self) {
            try GaussianMixture(fitting: x, configuration: .init(componentCount: 2, initialization: wrongType), using: &generator)
        }
        var notDefinite = Matrix(identity: 3)
        notDefinite[2, 2] = -1
        let indefinite = GaussianMixture.Initialization.given(weights: [0.5, 0.5], means: Matrix(rows: 2, columns: 3),
                                                              precisions: .full([Matrix(identity: 3), notDefinite]))
        #expect(throws: GaussianMixtureError.invalidInitialization("the precision of component 1 is not positive definite")) {
            try GaussianMixture(fitting: x, configuration: .init(componentCount: 2, initialization: indefinite), using: &generator)
        }
    }

    // MARK: - Given parameters

    @Test("Given precisions are factored as U·Uᵀ with U upper triangular", arguments: GaussianMixture.CovarianceType.allCases)
    func givenPrecisionsRoundTrip(type: GaussianMixture.CovarianceType) throws {
        let x = clusteredData()
        var generator = RandomGenerator(seed: 2)
        let fitted = try GaussianMixture(fitting: x, configuration: .init(componentCount: 3, covarianceType: type), using: &generator)
        let restarted = try GaussianMixture(
            fitting: x,
            configuration: .init(componentCount: 3, covarianceType: type, maxIterations: 0,
                                 initialization: .given(weights: fitted.weights, means: fitted.means, precisions: fitted.precisions)),
            using: &generator)
        expectClose(restarted.precisionsCholesky.flattened, fitted.precisionsCholesky.flattened, rtol: 1e-9, "\(type) factors")
        expectClose(restarted.covariances.flattened, fitted.covariances.flattened, rtol: 1e-9, "\(type) covariances")
        expectClose(try restarted.scoreSamples(x), try fitted.scoreSamples(x), rtol: 1e-10, atol: 1e-10, "\(type) scores")
    }

    // MARK: - Codable

    @Test("The fitted model round-trips through JSON", arguments: GaussianMixture.CovarianceType.allCases)
    func codableRoundTrip(type: GaussianMixture.CovarianceType) throws {
        let x = clusteredData()
        var generator = RandomGenerator(seed: 3)
        let model = try GaussianMixture(fitting: x, configuration: .init(componentCount: 3, covarianceType: type), using: &generator)
        let data = try JSONEncoder().encode(model)
        let decoded = try JSONDecoder().decode(GaussianMixture.self, from: data)
        #expect(decoded == model)
        #expect(try decoded.scoreSamples(x) == model.scoreSamples(x))
    }

    @Test func unfittedLowerBoundEncodesAsNull() throws {
        let x = clusteredData()
        var generator = RandomGenerator(seed: 3)
        let model = try GaussianMixture(fitting: x, configuration: .init(componentCount: 3, maxIterations: 0), using: &generator)
        #expect(model.lowerBound == -.infinity)
        let decoded = try JSONDecoder().decode(GaussianMixture.self, from: JSONEncoder().encode(model))
        #expect(decoded == model)
    }

    @Test func corruptedModelFailsToDecode() throws {
        var generator = RandomGenerator(seed: 3)
        let model = try GaussianMixture(fitting: clusteredData(), configuration: .init(componentCount: 3), using: &generator)
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(model)) as! [String: Any]
        object["weights"] = [0.5, 0.5]
        let corrupted = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(GaussianMixture.self, from: corrupted) }
    }
}
