/// Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as PyTorch's `torch.optim.AdamW`
/// (without `amsgrad`).
///
/// Each step first shrinks the parameter, `p ← p·(1 − lr·weightDecay)`, then applies the
/// ``Adam`` update to it with the raw gradient (no L2 term). The state is exported with the same
/// keys as ``Adam``: `"<name>.exp_avg"`, `"<name>.exp_avg_sq"`, `"<name>.step"`.
public struct AdamW: Optimizer {
    /// The step size `lr`.
    public var learningRate: Float {
        didSet { precondition(learningRate >= 0, "AdamW: invalid learning rate \(learningRate)") }
    }
    /// The decay rate β₁ of the first-moment average.
    public let beta1: Float
    /// The decay rate β₂ of the second-moment average.
    public let beta2: Float
    /// The term ε added to the denominator for numerical stability.
    public let epsilon: Float
    /// The decoupled weight-decay coefficient.
    public let weightDecay: Float
    /// The moments and step counts, by parameter name.
    private var moments = AdamMoments(optimizer: "AdamW")

    /// Creates the optimizer; the defaults are PyTorch's (note `weightDecay` 1e-2, unlike ``Adam``).
    ///
    /// - Precondition: `learningRate, epsilon, weightDecay ≥ 0` and `β₁, β₂ ∈ [0, 1)`.
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 1e-2) {
        validateAdamHyperparameters("AdamW", learningRate: learningRate, beta1: beta1, beta2: beta2,
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
                     epsilon: epsilon, weightDecay: weightDecay, decoupled: true)
    }

    /// The moments and step counts, keyed `"<name>.exp_avg"`, `"<name>.exp_avg_sq"`, `"<name>.step"`.
    public var state: [String: Tensor] { moments.state }

    /// Replaces the moments and step counts with those of an exported ``state``.
    public mutating func load(state: [String: Tensor]) throws { try moments.load(state) }
}
