import Foundation
import Tensor

/// A Gaussian mixture fitted by expectation–maximisation, with scikit-learn's semantics
/// (`sklearn.mixture.GaussianMixture`): the same defaults, initialisations, stopping rule,
/// regularisation, parameterisation by Cholesky factors of the precisions, and the same numbers
/// (tests check parameters to 1e-6 and per-sample log-likelihoods to 1e-8 against scikit-learn).
///
/// Grain fits it to the 528-d features of real photographs and scores new images by their
/// log-likelihood under it (``scoreSamples(_:)-(Matrix)``); a low score means "unlike real photos".
///
/// ```swift
/// var generator = RandomGenerator(seed: 42)
/// let gmm = try GaussianMixture(fitting: features,                  // Matrix [n, d]
///                               configuration: .init(componentCount: 6),
///                               using: &generator)
/// let scores = try gmm.scoreSamples(newFeatures)                      // [n'] log-likelihoods
/// ```
///
/// Everything is computed in `Double`. Component `k` has weight `πₖ`, mean `μₖ` and precision
/// `Λₖ = Σₖ⁻¹ = Uₖ·Uₖᵀ` with `Uₖ` upper triangular (scikit-learn's `precisions_cholesky_`), so
/// `log N(x | μₖ, Σₖ) = −½(d·log 2π + ‖(x − μₖ)·Uₖ‖²) + Σ log diag Uₖ`. The E-step whitens all
/// samples at once, one triangular BLAS product per component (`[n, d]·[d, d]`); the M-step forms
/// each covariance as one BLAS rank-n update (`dsyrk`) of the responsibility-weighted, centred samples.
///
/// **Limitations.** No `warm_start`, `verbose` or `sample` (drawing from the mixture). Random
/// initialisations use Grain's generator, so they match scikit-learn's in distribution, not draw
/// for draw (a given initialisation reproduces scikit-learn exactly). The M-step computes the tied
/// and diagonal covariances in centred form, `Σᵢ rᵢₖ(xᵢ − μₖ)(xᵢ − μₖ)ᵀ / Nₖ` — equal in exact
/// arithmetic to scikit-learn's `E[xxᵀ] − μμᵀ` (for tied, plus the term scikit-learn's formula
/// implies when responsibilities do not sum to 1 per sample), without its cancellation on
/// uncentred features.
public struct GaussianMixture: Equatable, Sendable {
    /// How each component's covariance is parameterised, as scikit-learn's `covariance_type`.
    public enum CovarianceType: String, Codable, Sendable, CaseIterable {
        /// Each component has its own general covariance matrix (`'full'`, the default).
        case full
        /// All components share one general covariance matrix (`'tied'`).
        case tied
        /// Each component has its own diagonal covariance matrix (`'diag'`).
        case diagonal
        /// Each component has its own single variance (`'spherical'`).
        case spherical
    }

    /// Covariance-shaped parameters (covariances, precisions or their Cholesky factors), shaped by
    /// the covariance type as scikit-learn's arrays are.
    public enum CovarianceParameters: Codable, Equatable, Sendable {
        /// One `[d, d]` matrix per component (`[k, d, d]` in scikit-learn).
        case full([Matrix])
        /// One `[d, d]` matrix shared by all components.
        case tied(Matrix)
        /// One value per component and feature, `[k, d]`.
        case diagonal(Matrix)
        /// One value per component, `[k]`.
        case spherical([Double])

        /// The covariance type these parameters belong to.
        public var covarianceType: CovarianceType {
            switch self {
            case .full: return .full
            case .tied: return .tied
            case .diagonal: return .diagonal
            case .spherical: return .spherical
            }
        }
    }

    /// How EM is started, as scikit-learn's `init_params` (plus `weights_init`, `means_init` and
    /// `precisions_init`, which ``given(weights:means:precisions:)`` takes together).
    public enum Initialization: Codable, Equatable, Sendable {
        /// Responsibilities from the hard labels of one k-means run (Lloyd, k-means++ seeding, up to
        /// 300 iterations, tolerance 1e-4 × the mean feature variance) — scikit-learn's `'kmeans'`,
        /// its default.
        case kMeans
        /// scikit-learn's `'k-means++'` (Grain's default, as the paper's authors used): k greedy
        /// k-means++ centres (2 + ⌊ln k⌋ candidates each); component j starts from centre j alone
        /// (responsibility 1 at that sample), so its covariance is `regularization·I` and the first
        /// E-step assigns every sample to its nearest centre.
        case kMeansPlusPlus
        /// Responsibilities drawn uniformly from [0, 1) and normalised per sample (`'random'`).
        case random
        /// k distinct samples drawn without replacement, one per component (`'random_from_data'`).
        case randomFromData
        /// Initial responsibilities `[n, k]` (non-negative, one row per sample): the first
        /// parameters are their M-step estimate, weights being `Nₖ / n`.
        case responsibilities(Matrix)
        /// Initial weights `[k]` (in [0, 1], summing to 1), means `[k, d]` and precisions (inverse
        /// covariances, symmetric positive definite, of the configured covariance type) — as
        /// scikit-learn's `weights_init`, `means_init` and `precisions_init` all given.
        case given(weights: [Double], means: Matrix, precisions: CovarianceParameters)

        /// Whether the initialisation draws random numbers (and so differs between restarts).
        var isRandom: Bool {
            switch self {
            case .kMeans, .kMeansPlusPlus, .random, .randomFromData: return true
            case .responsibilities, .given: return false
            }
        }
    }

    /// The settings of a fit; the defaults are scikit-learn's except the initialisation (see
    /// ``Initialization/kMeansPlusPlus``).
    public struct Configuration: Codable, Equatable, Sendable {
        /// The number of mixture components `k` (`n_components`, default 1).
        public var componentCount: Int
        /// The covariance parameterisation (`covariance_type`, default full).
        public var covarianceType: CovarianceType
        /// Added to the diagonal of every covariance estimate (`reg_covar`, default 1e-6) to keep it
        /// positive definite.
        public var regularization: Double
        /// EM stops when the mean log-likelihood lower bound changes by less than this between two
        /// iterations (`tol`, default 1e-3).
        public var tolerance: Double
        /// The most EM iterations per initialisation (`max_iter`, default 100). With 0 the model
        /// keeps the initial parameters.
        public var maxIterations: Int
        /// The number of initialisations (`n_init`, default 1); the one with the best final lower
        /// bound is kept. Deterministic initialisations run once.
        public var initializationCount: Int
        /// How EM is started (default k-means++).
        public var initialization: Initialization

        /// Creates a configuration; every argument defaults to scikit-learn's value, except the
        /// initialisation (k-means++, as the paper's authors used).
        public init(componentCount: Int = 1, covarianceType: CovarianceType = .full, regularization: Double = 1e-6,
                    tolerance: Double = 1e-3, maxIterations: Int = 100, initializationCount: Int = 1,
                    initialization: Initialization = .kMeansPlusPlus) {
            self.componentCount = componentCount
            self.covarianceType = covarianceType
            self.regularization = regularization
            self.tolerance = tolerance
            self.maxIterations = maxIterations
            self.initializationCount = initializationCount
            self.initialization = initialization
        }
    }

    /// The configuration the model was fitted with.
    public let configuration: Configuration
    /// The mixture weights `πₖ`, `[k]`, summing to 1 (`weights_`).
    public let weights: [Double]
    /// The component means, `[k, d]` (`means_`).
    public let means: Matrix
    /// The component covariances (`covariances_`), regularisation included.
    public let covariances: CovarianceParameters
    /// The upper-triangular Cholesky factors `U` of the precisions, `Λ = U·Uᵀ`
    /// (`precisions_cholesky_`); for diagonal and spherical types, the square roots of the
    /// precisions.
    public let precisionsCholesky: CovarianceParameters
    /// Whether the kept initialisation's EM met the tolerance within `maxIterations` (`converged_`).
    public let converged: Bool
    /// The EM iterations the kept initialisation ran (`n_iter_`).
    public let iterationCount: Int
    /// The kept initialisation's final lower bound: the mean log-likelihood of the training data
    /// at the start of its last iteration (`lower_bound_`); `−∞` when `maxIterations` is 0.
    public let lowerBound: Double
    /// The kept initialisation's lower bound after each iteration (`lower_bounds_`).
    public let lowerBoundHistory: [Double]

    /// The number of components `k`.
    public var componentCount: Int { weights.count }
    /// The number of features `d`.
    public var featureCount: Int { means.columns }
    /// The covariance parameterisation.
    public var covarianceType: CovarianceType { configuration.covarianceType }

    /// The precisions `Λ = U·Uᵀ` (inverse covariances), computed from ``precisionsCholesky``
    /// (`precisions_`).
    public var precisions: CovarianceParameters {
        switch precisionsCholesky {
        case let .full(factors): return .full(factors.map { Matrix.product($0, $0, transposeB: true) })
        case let .tied(factor): return .tied(Matrix.product(factor, factor, transposeB: true))
        case let .diagonal(roots): return .diagonal(Matrix(rows: roots.rows, columns: roots.columns, elements: roots.elements.map { $0 * $0 }))
        case let .spherical(roots): return .spherical(roots.map { $0 * $0 })
        }
    }

    /// The number of free parameters: covariances (`k·d(d+1)/2` full, `d(d+1)/2` tied, `k·d`
    /// diagonal, `k` spherical) + means `k·d` + weights `k − 1`, as scikit-learn's `_n_parameters`.
    public var parameterCount: Int {
        Self.parameterCount(componentCount: componentCount, covarianceType: covarianceType, featureCount: featureCount)
    }

    /// The number of free parameters of a mixture with `componentCount` components of
    /// `covarianceType` in `featureCount` dimensions, counted as the `parameterCount` property counts them.
    public static func parameterCount(componentCount k: Int, covarianceType: CovarianceType, featureCount d: Int) -> Int {
        let covarianceParameters: Int
        switch covarianceType {
        case .full: covarianceParameters = k * d * (d + 1) / 2
        case .tied: covarianceParameters = d * (d + 1) / 2
        case .diagonal: covarianceParameters = k * d
        case .spherical: covarianceParameters = k
        }
        return covarianceParameters + k * d + k - 1
    }

    /// Fits a mixture to `x` by EM, as scikit-learn's `GaussianMixture(...).fit(x)`.
    ///
    /// For each of `initializationCount` initialisations (drawing from `generator` in turn), EM
    /// alternates E-steps (responsibilities by log-sum-exp) and M-steps until the mean
    /// log-likelihood changes by less than `tolerance` or `maxIterations` is reached; the
    /// initialisation with the highest final lower bound is kept.
    ///
    /// - Parameters:
    ///   - x: The samples, `[n, d]`, one per row.
    ///   - configuration: The settings (scikit-learn's defaults, k-means++ initialisation).
    ///   - generator: The source of randomness for the initialisation; a seed fixes the result.
    /// - Throws: ``GaussianMixtureError/tooFewSamples(sampleCount:componentCount:)``,
    ///   ``GaussianMixtureError/nonFiniteInput(row:column:)``,
    ///   ``GaussianMixtureError/covarianceNotPositiveDefinite(component:regularization:)`` (raise
    ///   `regularization`), or an invalid configuration or initialisation.
    public init(fitting x: Matrix, configuration: Configuration = Configuration(),
                using generator: inout some RandomNumberGenerator) throws(GaussianMixtureError) {
        try Self.validate(configuration)
        let k = configuration.componentCount
        guard x.rows >= k else { throw .tooFewSamples(sampleCount: x.rows, componentCount: k) }
        guard x.columns > 0 else { throw .noFeatures }
        try Self.requireFinite(x)

        let runs = configuration.initialization.isRandom ? configuration.initializationCount : 1
        var best: (parameters: Parameters, lowerBound: Double, iterations: Int, converged: Bool, history: [Double])?
        for _ in 0..<runs {
            var parameters = try Self.initialParameters(x, configuration, using: &generator)
            var lowerBound = -Double.infinity
            var history: [Double] = []
            var converged = false
            var iterations = 0
            if configuration.maxIterations > 0 {
                for iteration in 1...configuration.maxIterations {
                    let previous = lowerBound
                    let (meanLogLikelihood, logResponsibilities) = Self.expectation(x, parameters)
                    parameters = try Self.maximization(x, responsibilities: logResponsibilities.exponentiated(),
                                                       configuration)
                    lowerBound = meanLogLikelihood
                    history.append(lowerBound)
                    iterations = iteration
                    if abs(lowerBound - previous) < configuration.tolerance {
                        converged = true
                        break
                    }
                }
            }
            // scikit-learn keeps a run when it beats the best so far, or when nothing was kept with a
            // finite bound yet (so with maxIterations 0 the last initialisation wins).
            if best == nil || lowerBound > best!.lowerBound || best!.lowerBound == -.infinity {
                best = (parameters, lowerBound, iterations, converged, history)
            }
        }
        let kept = best!
        self.init(configuration: configuration, parameters: kept.parameters, converged: kept.converged,
                  iterationCount: kept.iterations, lowerBound: kept.lowerBound, lowerBoundHistory: kept.history)
    }

    /// Fits a mixture to float32 features `[n, d]` (widened to `Double`); see
    /// ``init(fitting:configuration:using:)``.
    ///
    /// - Precondition: `x` has rank 2.
    public init(fitting x: Tensor, configuration: Configuration = Configuration(),
                using generator: inout some RandomNumberGenerator) throws(GaussianMixtureError) {
        try self.init(fitting: Matrix(x), configuration: configuration, using: &generator)
    }

    /// Assembles a model from fitted parameters.
    init(configuration: Configuration, parameters: Parameters, converged: Bool, iterationCount: Int,
         lowerBound: Double, lowerBoundHistory: [Double]) {
        self.configuration = configuration
        self.weights = parameters.weights
        self.means = parameters.means
        self.covariances = parameters.covariances
        self.precisionsCholesky = parameters.precisionsCholesky
        self.converged = converged
        self.iterationCount = iterationCount
        self.lowerBound = lowerBound
        self.lowerBoundHistory = lowerBoundHistory
    }

    // MARK: - Scoring

    /// The log-likelihood of each sample under the mixture, `log Σₖ πₖ N(xᵢ | μₖ, Σₖ)` by
    /// log-sum-exp, `[n]` — scikit-learn's `score_samples`.
    ///
    /// - Parameter x: Samples `[n, d]`.
    /// - Throws: ``GaussianMixtureError/featureCountMismatch(expected:actual:)`` or
    ///   ``GaussianMixtureError/nonFiniteInput(row:column:)``.
    public func scoreSamples(_ x: Matrix) throws(GaussianMixtureError) -> [Double] {
        try requireCompatible(x)
        return Self.logSumExpRows(Self.weightedLogProbabilities(x, parameters))
    }

    /// ``scoreSamples(_:)-(Matrix)`` for float32 features `[n, d]`.
    ///
    /// - Precondition: `x` has rank 2.
    public func scoreSamples(_ x: Tensor) throws(GaussianMixtureError) -> [Double] {
        try scoreSamples(Matrix(x))
    }

    /// The mean per-sample log-likelihood of `x` (scikit-learn's `score`).
    ///
    /// - Throws: as ``scoreSamples(_:)-(Matrix)``.
    public func score(_ x: Matrix) throws(GaussianMixtureError) -> Double {
        let scores = try scoreSamples(x)
        return scores.reduce(0, +) / Double(scores.count)
    }

    /// The posterior probability of each component for each sample, `[n, k]`, rows summing to 1
    /// (scikit-learn's `predict_proba`).
    ///
    /// - Throws: as ``scoreSamples(_:)-(Matrix)``.
    public func predictProbabilities(_ x: Matrix) throws(GaussianMixtureError) -> Matrix {
        try requireCompatible(x)
        let (_, logResponsibilities) = Self.expectation(x, parameters)
        return logResponsibilities.exponentiated()
    }

    /// The most probable component of each sample, `[n]` (scikit-learn's `predict`; ties go to the
    /// lower index).
    ///
    /// - Throws: as ``scoreSamples(_:)-(Matrix)``.
    public func predict(_ x: Matrix) throws(GaussianMixtureError) -> [Int] {
        try requireCompatible(x)
        let weighted = Self.weightedLogProbabilities(x, parameters)
        return (0..<weighted.rows).map { i in
            var best = 0
            for j in 1..<max(weighted.columns, 1) where weighted[i, j] > weighted[i, best] { best = j }
            return best
        }
    }

    /// The Bayesian information criterion on `x`, `−2·n·score(x) + p·ln n` with `p` the
    /// ``parameterCount`` (lower is better; scikit-learn's `bic`).
    ///
    /// - Throws: as ``scoreSamples(_:)-(Matrix)``.
    public func bic(_ x: Matrix) throws(GaussianMixtureError) -> Double {
        -2 * (try score(x)) * Double(x.rows) + Double(parameterCount) * Foundation.log(Double(x.rows))
    }

    /// The Akaike information criterion on `x`, `−2·n·score(x) + 2p` (scikit-learn's `aic`).
    ///
    /// - Throws: as ``scoreSamples(_:)-(Matrix)``.
    public func aic(_ x: Matrix) throws(GaussianMixtureError) -> Double {
        -2 * (try score(x)) * Double(x.rows) + 2 * Double(parameterCount)
    }

    /// The naive per-sample, per-component computation of ``scoreSamples(_:)-(Matrix)`` (explicit loops
    /// for `(x − μ)·U`, its squared norm and the log-sum-exp), the reference for tests.
    ///
    /// - Precondition: `x` has ``featureCount`` columns.
    public func referenceScoreSamples(_ x: Matrix) -> [Double] {
        precondition(x.columns == featureCount,
                     "GaussianMixture.referenceScoreSamples: \(x.columns) features, the model has \(featureCount)")
        let d = featureCount
        return (0..<x.rows).map { i in
            var terms: [Double] = []
            for component in 0..<componentCount {
                let centred = (0..<d).map { x[i, $0] - means[component, $0] }
                var squaredNorm = 0.0, logDeterminant = 0.0
                func whiten(by factor: Matrix) {
                    for j in 0..<d {
                        var y = 0.0
                        for p in 0...j { y += centred[p] * factor[p, j] }
                        squaredNorm += y * y
                        logDeterminant += Foundation.log(factor[j, j])
                    }
                }
                switch precisionsCholesky {
                case let .full(factors):
                    whiten(by: factors[component])
                case let .tied(factor):
                    whiten(by: factor)
                case let .diagonal(roots):
                    for j in 0..<d {
                        let y = centred[j] * roots[component, j]
                        squaredNorm += y * y
                        logDeterminant += Foundation.log(roots[component, j])
                    }
                case let .spherical(roots):
                    for j in 0..<d {
                        let y = centred[j] * roots[component]
                        squaredNorm += y * y
                    }
                    logDeterminant = Double(d) * Foundation.log(roots[component])
                }
                let logGaussian = -0.5 * (Double(d) * Foundation.log(2 * Double.pi) + squaredNorm) + logDeterminant
                terms.append(logGaussian + Foundation.log(weights[component]))
            }
            let largest = terms.max()!
            guard largest.isFinite else { return largest }
            return largest + Foundation.log(terms.reduce(0) { $0 + Foundation.exp($1 - largest) })
        }
    }

    /// The fitted parameters as the EM routines take them.
    var parameters: Parameters {
        Parameters(weights: weights, means: means, covariances: covariances, precisionsCholesky: precisionsCholesky)
    }

    /// Throws unless `x` has the model's feature count and finite values.
    private func requireCompatible(_ x: Matrix) throws(GaussianMixtureError) {
        guard x.columns == featureCount else { throw .featureCountMismatch(expected: featureCount, actual: x.columns) }
        try Self.requireFinite(x)
    }

    /// Throws ``GaussianMixtureError/nonFiniteInput(row:column:)`` at the first NaN or infinity.
    static func requireFinite(_ x: Matrix) throws(GaussianMixtureError) {
        var bad: (Int, Int)?
        x.elements.withUnsafeBufferPointer { values in
            for index in 0..<values.count where !values[index].isFinite {
                bad = (index / x.columns, index % x.columns)
                return
            }
        }
        if let (row, column) = bad { throw .nonFiniteInput(row: row, column: column) }
    }

    /// Throws ``GaussianMixtureError/invalidConfiguration(_:)`` for out-of-range settings.
    static func validate(_ configuration: Configuration) throws(GaussianMixtureError) {
        if configuration.componentCount < 1 {
            throw .invalidConfiguration("componentCount must be ≥ 1, got \(configuration.componentCount)")
        }
        if !(configuration.regularization >= 0) || !configuration.regularization.isFinite {
            throw .invalidConfiguration("regularization must be finite and ≥ 0, got \(configuration.regularization)")
        }
        if !(configuration.tolerance >= 0) {
            throw .invalidConfiguration("tolerance must be ≥ 0, got \(configuration.tolerance)")
        }
        if configuration.maxIterations < 0 {
            throw .invalidConfiguration("maxIterations must be ≥ 0, got \(configuration.maxIterations)")
        }
        if configuration.initializationCount < 1 {
            throw .invalidConfiguration("initializationCount must be ≥ 1, got \(configuration.initializationCount)")
        }
    }
}
