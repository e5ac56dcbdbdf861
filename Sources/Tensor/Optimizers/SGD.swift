/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
/// as PyTorch's `torch.optim.SGD`.
///
/// For each parameter `p` with gradient `g`, at learning rate `lr`:
/// ```
/// g ← g + weightDecay·p
/// if momentum ≠ 0:
///     b ← g                                   (first step)
///     b ← momentum·b + (1 − dampening)·g      (later steps)
///     g ← nesterov ? g + momentum·b : b
/// p ← p − lr·g
/// ```
/// The momentum buffer `b` is kept per parameter name and exported as `"<name>.momentum_buffer"`.
public struct SGD: Optimizer {
    /// The step size `lr`.
    public var learningRate: Float {
        didSet { precondition(learningRate >= 0, "SGD: invalid learning rate \(learningRate)") }
    }
    /// The momentum factor (0 disables momentum).
    public let momentum: Float
    /// The dampening applied to the gradient in the momentum update.
    public let dampening: Float
    /// The L2 penalty coefficient added to the gradient.
    public let weightDecay: Float
    /// Whether to use Nesterov momentum.
    public let nesterov: Bool
    /// The momentum buffer of each parameter, by name.
    private var momentumBuffers: [String: Tensor] = [:]

    /// Creates the optimizer; the defaults are PyTorch's.
    ///
    /// - Precondition: `learningRate, momentum, weightDecay ≥ 0`; Nesterov needs a positive
    ///   momentum and zero dampening (as PyTorch).
    public init(learningRate: Float, momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0,
                nesterov: Bool = false) {
        precondition(learningRate >= 0, "SGD: invalid learning rate \(learningRate)")
        precondition(momentum >= 0, "SGD: invalid momentum \(momentum)")
        precondition(weightDecay >= 0, "SGD: invalid weight decay \(weightDecay)")
        precondition(dampening.isFinite, "SGD: invalid dampening \(dampening)")
        precondition(!nesterov || (momentum > 0 && dampening == 0),
                     "SGD: Nesterov momentum requires a momentum and zero dampening (momentum \(momentum), dampening \(dampening))")
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    /// Updates every parameter that has an entry in `gradients` (see ``Optimizer``).
    public mutating func step(_ parameters: inout [String: Tensor], gradients: [String: Tensor]) {
        let lr = learningRate, momentum = momentum, dampening = dampening
        let weightDecay = weightDecay, nesterov = nesterov
        for (name, gradient) in gradients {
            var value = takeParameter(name, from: &parameters, gradient: gradient, optimizer: "SGD")
            let n = value.count
            if momentum == 0 {
                gradient.withUnsafeBufferPointer { g in
                    value.withUnsafeMutableBufferPointer { p in
                        guard let g = g.baseAddress, let p = p.baseAddress else { return }
                        for i in 0..<n {
                            let d = weightDecay == 0 ? g[i] : g[i] + weightDecay * p[i]
                            p[i] -= lr * d
                        }
                    }
                }
            } else {
                let existing = momentumBuffers.removeValue(forKey: name)
                let firstStep = existing == nil
                var buffer = existing ?? Tensor(uninitializedShape: value.shape)
                precondition(buffer.shape == value.shape,
                             "SGD.step: momentum buffer of \"\(name)\" has shape \(buffer.shape), parameter has \(value.shape)")
                gradient.withUnsafeBufferPointer { g in
                    value.withUnsafeMutableBufferPointer { p in
                        buffer.withUnsafeMutableBufferPointer { b in
                            guard let g = g.baseAddress, let p = p.baseAddress, let b = b.baseAddress else { return }
                            for i in 0..<n {
                                let d = weightDecay == 0 ? g[i] : g[i] + weightDecay * p[i]
                                let average = firstStep ? d : momentum * b[i] + (1 - dampening) * d
                                b[i] = average
                                p[i] -= lr * (nesterov ? d + momentum * average : average)
                            }
                        }
                    }
                }
                momentumBuffers[name] = buffer
            }
            parameters[name] = value.requiringGradient()
        }
    }

    /// The momentum buffers, keyed `"<name>.momentum_buffer"` (empty without momentum).
    public var state: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: momentumBuffers.map { ("\($0.key).momentum_buffer", $0.value) })
    }

    /// Replaces the momentum buffers with those of an exported ``state``.
    public mutating func load(state: [String: Tensor]) throws {
        var buffers: [String: Tensor] = [:]
        for (key, tensor) in state {
            guard let (name, entry) = splitStateKey(key), entry == "momentum_buffer" else {
                throw OptimizerStateError.unexpectedKey(key)
            }
            buffers[name] = tensor.detached()
        }
        momentumBuffers = buffers
    }
}
