/// Clips gradients by their global L2 norm, as PyTorch's `torch.nn.utils.clip_grad_norm_`.
///
/// The total norm is `‖(‖g₁‖, ‖g₂‖, …)‖₂` over every gradient. Each gradient is multiplied by
/// `min(1, maxNorm / (total + 1e-6))`, so gradients are only ever scaled down. Gradients live in
/// the leaves, so instead of scaling them in place this returns the scaled copies; pass them to
/// ``Optimizer/step(_:gradients:)``:
///
/// ```swift
/// let (norm, clipped) = clipGradientNorm(parameters, maxNorm: 1)
/// optimizer.step(&parameters, gradients: clipped)
/// ```
///
/// - Parameters:
///   - parameters: named parameters; those without a ``Tensor/gradient`` are ignored.
///   - maxNorm: the largest allowed total norm.
/// - Returns: the total norm before clipping, and the (possibly scaled) gradients by name.
public func clipGradientNorm(_ parameters: [String: Tensor], maxNorm: Float) -> (norm: Float, gradients: [String: Tensor]) {
    clipGradientNorm(gradients: parameters.compactMapValues { $0.gradient }, maxNorm: maxNorm)
}

/// Clips a dictionary of gradients by their global L2 norm (see
/// ``clipGradientNorm(_:maxNorm:)``), e.g. gradients accumulated over several micro-batches.
///
/// - Returns: the total norm before clipping, and the (possibly scaled) gradients by name.
public func clipGradientNorm(gradients: [String: Tensor], maxNorm: Float) -> (norm: Float, gradients: [String: Tensor]) {
    precondition(maxNorm >= 0, "clipGradientNorm: invalid maxNorm \(maxNorm)")
    var sumOfSquares: Double = 0
    for gradient in gradients.values {
        sumOfSquares += gradient.withUnsafeBufferPointer { squaredSum($0) }
    }
    let total = Float(sumOfSquares.squareRoot())
    let coefficient = min(maxNorm / (total + 1e-6), 1)
    // PyTorch multiplies even by a coefficient of 1; skip that copy (the values are identical).
    guard coefficient < 1 else { return (total, gradients) }
    var scaled: [String: Tensor] = [:]
    scaled.reserveCapacity(gradients.count)
    for (name, gradient) in gradients {
        var result = Tensor(uninitializedShape: gradient.shape)
        let n = gradient.count
        gradient.withUnsafeBufferPointer { g in
            result.withUnsafeMutableBufferPointer { r in
                guard let g = g.baseAddress, let r = r.baseAddress else { return }
                for i in 0..<n { r[i] = g[i] * coefficient }
            }
        }
        scaled[name] = result
    }
    return (total, scaled)
}

/// `Σ xᵢ²` with SIMD accumulators in `Float`, chunk sums widened to `Double`.
private func squaredSum(_ values: UnsafeBufferPointer<Float>) -> Double {
    guard let base = values.baseAddress else { return 0 }
    let n = values.count
    var total: Double = 0
    var start = 0
    // Chunks of 4096 keep the float accumulators accurate; the chunk sums add up in double.
    while start < n {
        let end = min(start &+ 4096, n)
        var accumulator = SIMD16<Float>()
        var i = start
        while i &+ 16 <= end {
            let x = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self)
            accumulator += x * x
            i &+= 16
        }
        var chunk = accumulator.sum()
        while i < end { chunk += base[i] * base[i]; i &+= 1 }
        total += Double(chunk)
        start = end
    }
    return total
}
