import Foundation

// Activation functions, each with its pullback. Definitions follow PyTorch's `torch.nn.functional`.

extension Tensor {
    /// `max(x, 0)`; gradient 0 at 0 (as PyTorch).
    public func relu() -> Tensor {
        let x = self
        let out = map { $0 > 0 ? $0 : 0 }
        return Tensor.record("relu", out, inputs: [x]) { g in [g * x.map { $0 > 0 ? 1 : 0 }] }
    }

    /// GELU, exact form: `x · Φ(x) = x · ½(1 + erf(x/√2))`.
    public func gelu() -> Tensor {
        let x = self
        let out = map { 0.5 * $0 * (1 + Foundation.erf($0 * 0.70710678118654752)) }
        return Tensor.record("gelu", out, inputs: [x]) { g in
            [g * x.map { v in
                let cdf = 0.5 * (1 + Foundation.erf(v * 0.70710678118654752))
                let pdf = Foundation.exp(-0.5 * v * v) * 0.39894228040143268
                return cdf + v * pdf
            }]
        }
    }

    /// GELU, tanh approximation: `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` (PyTorch's
    /// `approximate="tanh"`).
    public func geluTanh() -> Tensor {
        let x = self
        let k: Float = 0.7978845608028654
        let out = map { v in 0.5 * v * (1 + Foundation.tanh(k * (v + 0.044715 * v * v * v))) }
        return Tensor.record("geluTanh", out, inputs: [x]) { g in
            [g * x.map { v in
                let inner = k * (v + 0.044715 * v * v * v)
                let t = Foundation.tanh(inner)
                return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v)
            }]
        }
    }

    /// Quick GELU (CLIP): `x · σ(1.702x)`.
    public func quickGelu() -> Tensor {
        let x = self
        let out = map { $0 / (1 + Foundation.exp(-1.702 * $0)) }
        return Tensor.record("quickGelu", out, inputs: [x]) { g in
            [g * x.map { v in
                let s = 1 / (1 + Foundation.exp(-1.702 * v))
                return s + 1.702 * v * s * (1 - s)
            }]
        }
    }

    /// SiLU (swish): `x · σ(x)`.
    public func silu() -> Tensor {
        let x = self
        let out = map { $0 / (1 + Foundation.exp(-$0)) }
        return Tensor.record("silu", out, inputs: [x]) { g in
            [g * x.map { v in
                let s = 1 / (1 + Foundation.exp(-v))
                return s * (1 + v * (1 - s))
            }]
        }
    }

    /// Logistic sigmoid `1 / (1 + e⁻ˣ)`.
    public func sigmoid() -> Tensor {
        let out = map { 1 / (1 + Foundation.exp(-$0)) }
        return Tensor.record("sigmoid", out, inputs: [self]) { g in [g * out * (1 - out)] }
    }

    /// Hyperbolic tangent.
    public func tanh() -> Tensor {
        let out = map { Foundation.tanh($0) }
        return Tensor.record("tanh", out, inputs: [self]) { g in [g * (1 - out * out)] }
    }

    /// `clamp(x, minimum, maximum)` with PyTorch's Hardtanh gradient: 1 strictly inside the
    /// interval, 0 on and outside its ends.
    public func hardtanh(min minimum: Float = -1, max maximum: Float = 1) -> Tensor {
        let x = self
        let out = map { Swift.min(Swift.max($0, minimum), maximum) }
        return Tensor.record("hardtanh", out, inputs: [x]) { g in
            [g * x.map { $0 > minimum && $0 < maximum ? 1 : 0 }]
        }
    }

    /// Softplus `(1/β) log(1 + e^{βx})`, linear where `βx > threshold` (PyTorch's defaults
    /// β = 1, threshold = 20).
    public func softplus(beta: Float = 1, threshold: Float = 20) -> Tensor {
        let x = self
        let out = map { v in v * beta > threshold ? v : Foundation.log1p(Foundation.exp(beta * v)) / beta }
        return Tensor.record("softplus", out, inputs: [x]) { g in
            [g * x.map { v in v * beta > threshold ? 1 : 1 / (1 + Foundation.exp(-beta * v)) }]
        }
    }
}
