// Creation: constants, ranges, identity and seeded random sampling.

extension Tensor {
    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }
    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }
    /// A tensor with every element `value`.
    public static func full(_ shape: [Int], value: Float) -> Tensor { Tensor(repeating: value, shape: shape) }

    /// `start, start + step, …` up to but excluding `end` (PyTorch's `arange`).
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0 && step.isFinite, "arange: step must be finite and non-zero, got \(step)")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor(shape: [n], scalars: (0..<n).map { start + Float($0) * step })
    }

    /// `count` evenly spaced values from `start` to `end` inclusive (PyTorch's `linspace`).
    public static func linspace(_ start: Float, _ end: Float, count: Int) -> Tensor {
        precondition(count >= 0, "linspace: negative count \(count)")
        if count == 1 { return Tensor([start]) }
        let step = (end - start) / Float(count - 1)
        // Both halves are anchored at their own end, as PyTorch does, so the last value is exact.
        let half = count / 2
        return Tensor(shape: [count], scalars: (0..<count).map { i in
            i < half ? start + step * Float(i) : end - step * Float(count - 1 - i)
        })
    }

    /// The `n × m` identity (ones on the main diagonal).
    public static func eye(_ n: Int, _ m: Int? = nil) -> Tensor {
        let cols = m ?? n
        var t = Tensor.zeros([n, cols])
        t.withUnsafeMutableBufferPointer { p in for i in 0..<Swift.min(n, cols) { p[i * cols + i] = 1 } }
        return t
    }

    /// Samples from the normal distribution `N(mean, standardDeviation²)` with `generator`.
    public static func randomNormal<G: RandomNumberGenerator>(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, using generator: inout G
    ) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = mean + standardDeviation * Float(generator.nextStandardNormal()) }
        }
        return t
    }

    /// Samples uniformly from `[lower, upper)` with `generator`.
    public static func randomUniform<G: RandomNumberGenerator>(
        _ shape: [Int], lower: Float = 0, upper: Float = 1, using generator: inout G
    ) -> Tensor {
        precondition(lower <= upper, "randomUniform: lower \(lower) above upper \(upper)")
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = lower + (upper - lower) * Float(generator.nextUnitDouble()) }
        }
        return t
    }
}
