/// A failure to fit or evaluate a ``GaussianMixture``; each message says what was wrong and what
/// to try, as scikit-learn's errors do.
public enum GaussianMixtureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer samples than mixture components (scikit-learn: "Expected n_samples >= n_components").
    case tooFewSamples(sampleCount: Int, componentCount: Int)
    /// The data have no features (`[n, 0]`).
    case noFeatures
    /// The element in row `row`, column `column` is NaN or infinite.
    case nonFiniteInput(row: Int, column: Int)
    /// The data have `actual` features but the model was fitted on `expected`.
    case featureCountMismatch(expected: Int, actual: Int)
    /// The covariance of `component` (`nil`: the tied covariance shared by all components) is not
    /// positive definite even after adding `regularization` to its diagonal — typically a
    /// component that collapsed onto a few samples, or more features than samples in it.
    case covarianceNotPositiveDefinite(component: Int?, regularization: Double)
    /// A configuration value is out of range; the message names it.
    case invalidConfiguration(String)
    /// The initial parameters or responsibilities passed in are malformed; the message says how.
    case invalidInitialization(String)

    /// A human-readable explanation with a remedy where there is one.
    public var description: String {
        switch self {
        case let .tooFewSamples(sampleCount, componentCount):
            return "GaussianMixture: expected at least as many samples as components, got \(sampleCount) samples for \(componentCount) components"
        case .noFeatures:
            return "GaussianMixture: the data have no features (0 columns)"
        case let .nonFiniteInput(row, column):
            return "GaussianMixture: sample \(row) holds a NaN or infinite value (column \(column))"
        case let .featureCountMismatch(expected, actual):
            return "GaussianMixture: the model was fitted on \(expected) features, the data have \(actual)"
        case let .covarianceNotPositiveDefinite(component, regularization):
            let which = component.map { "component \($0)" } ?? "the tied covariance"
            return "GaussianMixture: fitting failed because the covariance of \(which) is not positive definite even after adding regularization \(regularization) to its diagonal (an ill-defined empirical covariance, for instance from singleton or collapsed samples). Try increasing regularization, decreasing the number of components, or scaling the input data."
        case let .invalidConfiguration(message):
            return "GaussianMixture: invalid configuration: \(message)"
        case let .invalidInitialization(message):
            return "GaussianMixture: invalid initialization: \(message)"
        }
    }
}
