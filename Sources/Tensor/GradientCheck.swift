/// Central finite-difference gradient checking, for tests of every differentiable op (here and in
/// the layers above).
///
/// The objective is `L = Σ f(inputs) ⊙ W` with fixed random weights `W`, so every output element
/// contributes with a different weight. Each input element `x` is perturbed by `±ε` and
/// `(L(x+ε) − L(x−ε)) / 2ε` is compared with the gradient from ``Tensor/backward(_:)``.
public enum GradientCheck {
    /// The outcome: the largest absolute and relative deviation between numeric and analytic
    /// gradients over all input elements.
    public struct Report: CustomStringConvertible, Sendable {
        /// Largest `|numeric − analytic|`.
        public var maxAbsoluteError: Float
        /// Largest `|numeric − analytic| / max(|numeric|, |analytic|, 1e-3)`.
        public var maxRelativeError: Float
        /// Whether every element is within `atol + rtol·|numeric|`.
        public var passed: Bool
        /// A one-line summary.
        public var description: String {
            "max abs \(maxAbsoluteError), max rel \(maxRelativeError), \(passed ? "passed" : "FAILED")"
        }
    }

    /// Compares analytic and numeric gradients of `function` at `inputs`.
    ///
    /// - Parameters:
    ///   - inputs: the points; all are differentiated.
    ///   - epsilon: the perturbation (float32 arithmetic needs about 1e-2 to 1e-3).
    ///   - rtol: the relative tolerance; an element passes within `atol + rtol·|numeric|`.
    ///   - atol: the absolute tolerance.
    ///   - seed: seeds the weights `W`.
    ///   - function: the computation under test.
    public static func check(_ inputs: [Tensor], epsilon: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3,
                             seed: UInt64 = 7, _ function: ([Tensor]) -> Tensor) -> Report {
        let leaves = inputs.map { $0.detached().requiringGradient() }
        let probe = function(leaves)
        var generator = RandomGenerator(seed: seed)
        let weights = Tensor.randomUniform(probe.shape, lower: 0.5, upper: 1.5, using: &generator)
        (probe * weights).sum().backward()
        func objective(_ xs: [Tensor]) -> Double {
            Tensor.withoutGradient {
                let y = function(xs)
                return zip(y.scalars, weights.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
        }
        var report = Report(maxAbsoluteError: 0, maxRelativeError: 0, passed: true)
        for (index, leaf) in leaves.enumerated() {
            let analytic = leaf.gradient?.scalars ?? [Float](repeating: 0, count: leaf.count)
            for element in 0..<leaf.count {
                var plus = inputs.map { $0.detached() }, minus = plus
                plus[index].withUnsafeMutableBufferPointer { $0[element] += epsilon }
                minus[index].withUnsafeMutableBufferPointer { $0[element] -= epsilon }
                let numeric = Float((objective(plus) - objective(minus)) / Double(2 * epsilon))
                let error = Swift.abs(numeric - analytic[element])
                let scale = Swift.max(Swift.abs(numeric), Swift.abs(analytic[element]), 1e-3)
                report.maxAbsoluteError = Swift.max(report.maxAbsoluteError, error)
                report.maxRelativeError = Swift.max(report.maxRelativeError, error / scale)
                if !(error <= atol + rtol * Swift.abs(numeric)) { report.passed = false }
            }
        }
        return report
    }
}
