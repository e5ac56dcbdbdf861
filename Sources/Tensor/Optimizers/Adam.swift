import Foundation

/// Adam (Kingma & Ba, 2015) with L2 weight decay added to the gradient, as PyTorch's
/// `torch.optim.Adam` (without `amsgrad`).
///
/// For each parameter `p` with gradient `g`, at step `t` (counted per parameter from 1):
/// ```
/// g ← g + weightDecay·p
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
/// The moments and step counts are kept per parameter name and exported as `"<name>.exp_avg"`,
/// `"<name>.exp_avg_sq"` and `"<name>.step"`. For decoupled weight decay use ``AdamW``.
public struct Adam: Optimizer {
    /// The step size `lr`.
    public var learningRate: Float {
        didSet { precondition(learningRate >= 0, "Adam: invalid learning rate \(learningRate)") }
    }
    /// The decay rate β₁ of the first-moment average.
    public let beta1: Float
    /// The decay rate β₂ of the second-moment average.
    public let beta2: Float
    /// The term ε added to the denominator for numerical stability.
    public let epsilon: Float
    /// The L2 penalty coefficient added to the gradient.
    public let weightDecay: Float
    /// The moments and step counts, by parameter name.
    private var moments = AdamMoments(optimizer: "Adam")

    /// Creates the optimizer; the defaults are PyTorch's.
    ///
    /// - Precondition: `learningRate, epsilon, weightDecay ≥ 0` and `β₁, β₂ ∈ [0, 1)`.
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0) {
        validateAdamHyperparameters("Adam", learningRate: learningRate, beta1: beta1, beta2: beta2,
                                    epsilon: epsilon, weightDecay: weightDecay)
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Updates every parameter that has an entry in `gradients` (see ``Optimizer``).
    public mutating func step(_ parameters: inout [String: Tensor], gradients: [String: Tensor]) {
        moments.step(&parameters, gradients: gradients, learningRate: learningRate, beta1: beta1, beta2: beta2,
                     epsilon: epsilon, weightDecay: weightDecay, decoupled: false)
    }

    /// The moments and step counts, keyed `"<name>.exp_avg"`, `"<name>.exp_avg_sq"`, `"<name>.step"`.
    public var state: [String: Tensor] { moments.state }

    /// Replaces the moments and step counts with those of an exported ``state``.
    public mutating func load(state: [String: Tensor]) throws { try moments.load(state) }
}

/// Checks Adam's hyperparameters with PyTorch's rules.
func validateAdamHyperparameters(_ optimizer: String, learningRate: Float, beta1: Float, beta2: Float,
                                 epsilon: Float, weightDecay: Float) {
    precondition(learningRate >= 0, "\(optimizer): invalid learning rate \(learningRate)")
    precondition(epsilon >= 0, "\(optimizer): invalid epsilon \(epsilon)")
    precondition(beta1 >= 0 && beta1 < 1, "\(optimizer): invalid beta1 \(beta1), must be in [0, 1)")
    precondition(beta2 >= 0 && beta2 < 1, "\(optimizer): invalid beta2 \(beta2), must be in [0, 1)")
    precondition(weightDecay >= 0, "\(optimizer): invalid weight decay \(weightDecay)")
}

/// The per-parameter state of ``Adam`` and ``AdamW`` and their shared update loop.
struct AdamMoments {
    /// The optimizer's name, for messages.
    let optimizer: String
    /// The first-moment averages `m`, by parameter name.
    var firstMoments: [String: Tensor] = [:]
    /// The second-moment averages `v`, by parameter name.
    var secondMoments: [String: Tensor] = [:]
    /// The number of steps taken, by parameter name.
    var steps: [String: Int] = [:]

    init(optimizer: String) { self.optimizer = optimizer }

    /// One Adam step over every parameter with a gradient; `decoupled` selects AdamW's
    /// `p ← p·(1 − lr·weightDecay)` instead of adding `weightDecay·p` to the gradient.
    mutating func step(_ parameters: inout [String: Tensor], gradients: [String: Tensor], learningRate: Float,
                       beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, decoupled: Bool) {
        for (name, gradient) in gradients {
            var value = takeParameter(name, from: &parameters, gradient: gradient, optimizer: optimizer)
            let n = value.count
            var m = firstMoments.removeValue(forKey: name) ?? Tensor(repeating: 0, shape: value.shape)
            var v = secondMoments.removeValue(forKey: name) ?? Tensor(repeating: 0, shape: value.shape)
            precondition(m.shape == value.shape && v.shape == value.shape,
                         "\(optimizer).step: moments of \"\(name)\" have shapes \(m.shape), \(v.shape); parameter has \(value.shape)")
            let t = (steps[name] ?? 0) + 1
            steps[name] = t
            // Scalar coefficients in double precision, as PyTorch computes them in Python floats.
            let biasCorrection1 = 1 - Foundation.pow(Double(beta1), Double(t))
            let biasCorrection2 = 1 - Foundation.pow(Double(beta2), Double(t))
            let stepSize = Float(Double(learningRate) / biasCorrection1)
            let biasCorrection2Root = Float(biasCorrection2.squareRoot())
            let decay: Float = decoupled ? Float(1 - Double(learningRate) * Double(weightDecay)) : 1
            let l2: Float = decoupled ? 0 : weightDecay
            let oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2
            gradient.withUnsafeBufferPointer { g in
                value.withUnsafeMutableBufferPointer { p in
                    m.withUnsafeMutableBufferPointer { m in
                        v.withUnsafeMutableBufferPointer { v in
                            guard let g = g.baseAddress, let p = p.baseAddress,
                                  let m = m.baseAddress, let v = v.baseAddress else { return }
                            for i in 0..<n {
                                var parameter = p[i]
                                if decoupled { parameter *= decay }
                                let d = l2 == 0 ? g[i] : g[i] + l2 * parameter
                                // m.lerp_(g, 1 − β₁) and v·β₂ + (1 − β₂)·g², as PyTorch.
                                let first = m[i] + oneMinusBeta1 * (d - m[i])
                                let second = beta2 * v[i] + oneMinusBeta2 * d * d
                                m[i] = first
                                v[i] = second
                                let denominator = second.squareRoot() / biasCorrection2Root + epsilon
                                p[i] = parameter - stepSize * (first / denominator)
                            }
                        }
                    }
                }
            }
            firstMoments[name] = m
            secondMoments[name] = v
            parameters[name] = value.requiringGradient()
        }
    }

    /// The state keyed `"<name>.exp_avg"`, `"<name>.exp_avg_sq"` and `"<name>.step"`.
    var state: [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, m) in firstMoments { result["\(name).exp_avg"] = m }
        for (name, v) in secondMoments { result["\(name).exp_avg_sq"] = v }
        for (name, t) in steps { result["\(name).step"] = stepCountTensor(t) }
        return result
    }

    /// Replaces the state with an exported one; every parameter needs all three entries, and its
    /// two moments the same shape.
    mutating func load(_ state: [String: Tensor]) throws {
        var first: [String: Tensor] = [:], second: [String: Tensor] = [:], counts: [String: Int] = [:]
        for (key, tensor) in state {
            guard let (name, entry) = splitStateKey(key) else { throw OptimizerStateError.unexpectedKey(key) }
            switch entry {
            case "exp_avg": first[name] = tensor.detached()
            case "exp_avg_sq": second[name] = tensor.detached()
            case "step": counts[name] = try stepCount(from: tensor, key: key)
            default: throw OptimizerStateError.unexpectedKey(key)
            }
        }
        for name in Set(first.keys).union(second.keys).union(counts.keys).sorted() {
            guard let m = first[name] else { throw OptimizerStateError.missingKey("\(name).exp_avg") }
            guard let v = second[name] else { throw OptimizerStateError.missingKey("\(name).exp_avg_sq") }
            guard counts[name] != nil else { throw OptimizerStateError.missingKey("\(name).step") }
            guard m.shape == v.shape else {
                throw OptimizerStateError.shapeMismatch(key: "\(name).exp_avg_sq", expected: m.shape, actual: v.shape)
            }
        }
        firstMoments = first
        secondMoments = second
        steps = counts
    }
}
