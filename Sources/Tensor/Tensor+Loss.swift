import Foundation

// Losses with PyTorch's semantics: cross-entropy (with label smoothing) and negative log-likelihood
// over class indices, and the element-wise regression and binary losses. Forward and pullback side
// by side; sums are accumulated in `Double`.

/// How a loss combines its per-sample (or per-element) values, as PyTorch's `reduction` argument.
public enum Reduction: Sendable {
    /// No reduction: one loss per sample (or element).
    case none
    /// The average of the losses.
    case mean
    /// The sum of the losses.
    case sum
}

extension Tensor {
    /// Cross-entropy between `logits` and class indices, as PyTorch's `F.cross_entropy`:
    /// `ℓᵢ = −(1 − ε) log pᵢ[tᵢ] − (ε / C) Σ_c log pᵢ[c]` with `pᵢ = softmax(logitsᵢ)`.
    ///
    /// - Parameters:
    ///   - logits: `[N, C]` unnormalised scores.
    ///   - targets: `N` class indices, each in `0..<C`.
    ///   - reduction: `.none` gives `[N]`; `.mean` and `.sum` give a scalar.
    ///   - labelSmoothing: ε in `[0, 1]`, the weight moved from the target to a uniform distribution.
    /// - Returns: the loss; its gradient flows to `logits`.
    public static func crossEntropy(logits: Tensor, targets: [Int], reduction: Reduction = .mean,
                                    labelSmoothing: Float = 0) -> Tensor {
        let (n, c) = checkClassTargets("crossEntropy", logits, "logits", targets)
        precondition(labelSmoothing >= 0 && labelSmoothing <= 1,
                     "crossEntropy: labelSmoothing \(labelSmoothing) is outside [0, 1]")
        let logSumExps = Tensor(uninitializedShape: [n])
        let losses = Tensor(uninitializedShape: [n])
        let px = logits.storage.baseAddress, pl = logSumExps.storage.baseAddress, pLoss = losses.storage.baseAddress
        let targetWeight = 1 - labelSmoothing, uniformWeight = labelSmoothing / Float(c)
        targets.withUnsafeBufferPointer { t in
            Parallel.forRanges(n, minimumChunk: Swift.max(1, (1 << 13) / c)) { start, end in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { scratch in
                    for i in start..<end {
                        let row = px + i &* c
                        let m = rowMaximum(row, c)
                        let lse = m + Foundation.log(exponentiate(row, shift: m, into: scratch.baseAddress!, c))
                        pl[i] = lse
                        var loss = -targetWeight * (row[t[i]] - lse)
                        if labelSmoothing != 0 { loss -= uniformWeight * (simdSum(row, c) - Float(c) * lse) }
                        pLoss[i] = loss
                    }
                }
            }
        }
        let out = reduced(losses, reduction)
        let x = logits.detached()
        return record("crossEntropy", out, inputs: [logits]) { g in
            let scales = rowGradientScales(g, reduction, n)
            let dx = Tensor(uninitializedShape: [n, c])
            let px = x.storage.baseAddress, pl = logSumExps.storage.baseAddress
            let pd = dx.storage.baseAddress, ps = scales.storage.baseAddress
            targets.withUnsafeBufferPointer { t in
                Parallel.forRanges(n, minimumChunk: Swift.max(1, (1 << 13) / c)) { start, end in
                    for i in start..<end {
                        let row = px + i &* c, d = pd + i &* c
                        exponentiate(row, shift: pl[i], into: d, c)
                        let s = ps[i]
                        var j = 0
                        while j < c { d[j] = s * (d[j] - uniformWeight); j &+= 1 }
                        d[t[i]] -= s * targetWeight
                    }
                }
            }
            return [dx]
        }
    }

    /// Negative log-likelihood of class indices, as PyTorch's `F.nll_loss`: `ℓᵢ = −logProbabilitiesᵢ[tᵢ]`.
    ///
    /// - Parameters:
    ///   - logProbabilities: `[N, C]`, usually from ``logSoftmax(alongAxis:)``.
    ///   - targets: `N` class indices, each in `0..<C`.
    ///   - reduction: `.none` gives `[N]`; `.mean` and `.sum` give a scalar.
    /// - Returns: the loss; its gradient flows to `logProbabilities`.
    public static func nllLoss(logProbabilities: Tensor, targets: [Int], reduction: Reduction = .mean) -> Tensor {
        let (n, c) = checkClassTargets("nllLoss", logProbabilities, "logProbabilities", targets)
        let losses = Tensor(uninitializedShape: [n])
        let px = logProbabilities.storage.baseAddress, pLoss = losses.storage.baseAddress
        for i in 0..<n { pLoss[i] = -px[i &* c &+ targets[i]] }
        let out = reduced(losses, reduction)
        return record("nllLoss", out, inputs: [logProbabilities]) { g in
            let scales = rowGradientScales(g, reduction, n)
            let dx = Tensor.zeros([n, c])
            let pd = dx.storage.baseAddress, ps = scales.storage.baseAddress
            for i in 0..<n { pd[i &* c &+ targets[i]] = -ps[i] }
            return [dx]
        }
    }

    /// Mean absolute error, as PyTorch's `F.l1_loss`: `ℓ = |input − target|`, reduced.
    /// The gradient at equal values is 0; both arguments receive gradients.
    ///
    /// - Parameters:
    ///   - input: the prediction.
    ///   - target: the target, shaped like `input`.
    ///   - reduction: `.none` keeps the shape; `.mean` and `.sum` give a scalar.
    public static func l1Loss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
        elementwiseLoss("l1Loss", input, target, reduction,
                        value: { Swift.abs($0 - $1) },
                        inputDerivative: { x, t in x > t ? 1 : (x < t ? -1 : 0) },
                        targetDerivative: { x, t in x > t ? -1 : (x < t ? 1 : 0) })
    }

    /// Mean squared error, as PyTorch's `F.mse_loss`: `ℓ = (input − target)²`, reduced; both
    /// arguments receive gradients.
    ///
    /// - Parameters:
    ///   - input: the prediction.
    ///   - target: the target, shaped like `input`.
    ///   - reduction: `.none` keeps the shape; `.mean` and `.sum` give a scalar.
    public static func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
        elementwiseLoss("mseLoss", input, target, reduction,
                        value: { ($0 - $1) * ($0 - $1) },
                        inputDerivative: { x, t in 2 * (x - t) },
                        targetDerivative: { x, t in 2 * (t - x) })
    }

    /// Smooth L1 (Huber-like) loss, as PyTorch's `F.smooth_l1_loss`: with `d = input − target`,
    /// `ℓ = ½ d² / β` where `|d| < β`, else `|d| − ½ β`; `β = 0` is the L1 loss. Both arguments
    /// receive gradients.
    ///
    /// - Parameters:
    ///   - input: the prediction.
    ///   - target: the target, shaped like `input`.
    ///   - reduction: `.none` keeps the shape; `.mean` and `.sum` give a scalar.
    ///   - beta: the threshold between the quadratic and linear parts, `≥ 0`.
    public static func smoothL1Loss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean,
                                    beta: Float = 1) -> Tensor {
        precondition(beta >= 0, "smoothL1Loss: beta must be non-negative, got \(beta)")
        func derivative(_ d: Float) -> Float {
            Swift.abs(d) < beta ? d / beta : (d > 0 ? 1 : (d < 0 ? -1 : 0))
        }
        return elementwiseLoss("smoothL1Loss", input, target, reduction,
                               value: { x, t in
                                   let d = Swift.abs(x - t)
                                   return d < beta ? 0.5 * d * d / beta : d - 0.5 * beta
                               },
                               inputDerivative: { x, t in derivative(x - t) },
                               targetDerivative: { x, t in -derivative(x - t) })
    }

    /// Binary cross-entropy on logits, as PyTorch's `F.binary_cross_entropy_with_logits`, in the
    /// stable form `ℓ = max(x, 0) − x·t + log(1 + e^{−|x|})`. The gradient is `σ(x) − t` for the
    /// logits and `−x` for the targets.
    ///
    /// - Parameters:
    ///   - logits: any shape.
    ///   - targets: probabilities in `[0, 1]`, the same shape as `logits`.
    ///   - reduction: `.none` keeps the shape; `.mean` and `.sum` give a scalar.
    public static func binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor,
                                                    reduction: Reduction = .mean) -> Tensor {
        elementwiseLoss("binaryCrossEntropyWithLogits", logits, targets, reduction,
                        value: { x, t in Swift.max(x, 0) - x * t + Foundation.log1p(Foundation.exp(-Swift.abs(x))) },
                        inputDerivative: { x, t in
                            let sigmoid: Float
                            if x >= 0 { sigmoid = 1 / (1 + Foundation.exp(-x)) } else {
                                let e = Foundation.exp(x)
                                sigmoid = e / (1 + e)
                            }
                            return sigmoid - t
                        },
                        targetDerivative: { x, _ in -x })
    }

    /// Checks a `[N, C]` score tensor against `N` class indices; returns `(N, C)`.
    private static func checkClassTargets(_ op: String, _ scores: Tensor, _ label: String, _ targets: [Int]) -> (Int, Int) {
        precondition(scores.rank == 2, "\(op): \(label) must be [N, C], got \(scores.shape)")
        let n = scores.shape[0], c = scores.shape[1]
        precondition(n > 0 && c > 0, "\(op): empty \(label) \(scores.shape)")
        precondition(targets.count == n, "\(op): \(targets.count) targets for \(label) \(scores.shape)")
        for (i, t) in targets.enumerated() where t < 0 || t >= c {
            preconditionFailure("\(op): target class \(t) at position \(i) is out of range for \(c) classes")
        }
        return (n, c)
    }

    /// `losses` unchanged (`.none`), or their sum or mean as a scalar, summed in `Double`.
    private static func reduced(_ losses: Tensor, _ reduction: Reduction) -> Tensor {
        switch reduction {
        case .none: return losses
        case .sum: return Tensor(Float(doubleSum(losses)))
        case .mean: return Tensor(Float(doubleSum(losses) / Double(losses.count)))
        }
    }

    /// The sum of all elements, accumulated per core in `Double` over SIMD16 block sums.
    private static func doubleSum(_ t: Tensor) -> Double {
        let count = t.count, p = t.storage.baseAddress
        let chunks = Swift.max(1, Swift.min(Parallel.threadCount, count / (1 << 16)))
        let partials = UnsafeMutablePointer<Double>.allocate(capacity: chunks)
        defer { partials.deallocate() }
        Parallel.forRanges(chunks, minimumChunk: 1) { chunkStart, chunkEnd in
            for chunk in chunkStart..<chunkEnd {
                var i = count * chunk / chunks
                let end = count * (chunk + 1) / chunks
                var total = 0.0
                while i < end {
                    let blockEnd = Swift.min(end, i &+ 1024)
                    total += Double(simdSum(p + i, blockEnd &- i))
                    i = blockEnd
                }
                partials[chunk] = total
            }
        }
        var total = 0.0
        for chunk in 0..<chunks { total += partials[chunk] }
        return total
    }

    /// The factor each sample's gradient gets from the output gradient `g`: `g` itself for
    /// `.none`, `g` for `.sum`, `g / n` for `.mean`; as a `[n]` tensor.
    private static func rowGradientScales(_ g: Tensor, _ reduction: Reduction, _ n: Int) -> Tensor {
        switch reduction {
        case .none: return g
        case .sum: return Tensor(repeating: g.item, shape: [n])
        case .mean: return Tensor(repeating: g.item / Float(n), shape: [n])
        }
    }

    /// An element-wise loss `value(input, target)` reduced by `reduction`, with pullbacks from the
    /// element-wise derivatives with respect to each argument.
    private static func elementwiseLoss(_ op: String, _ input: Tensor, _ target: Tensor, _ reduction: Reduction,
                                        value: (Float, Float) -> Float,
                                        inputDerivative: @escaping (Float, Float) -> Float,
                                        targetDerivative: @escaping (Float, Float) -> Float) -> Tensor {
        precondition(input.shape == target.shape, "\(op): input \(input.shape) and target \(target.shape) differ in shape")
        precondition(input.count > 0, "\(op): empty input \(input.shape)")
        let losses = broadcastMap(input.detached(), target.detached(), op: op, value)
        let out = reduced(losses, reduction)
        let x = input.detached(), t = target.detached()
        let needInput = input.requiresGradient, needTarget = target.requiresGradient
        return record(op, out, inputs: [input, target]) { g in
            let perElement: (Tensor, (Float, Float) -> Float) -> Tensor = { g, derivative in
                if reduction == .none {
                    return broadcastMap(broadcastMap(x, t, op: op, derivative), g, op: op) { $0 * $1 }
                }
                let scale = reduction == .mean ? g.item / Float(x.count) : g.item
                return broadcastMap(x, t, op: op) { derivative($0, $1) * scale }
            }
            return [needInput ? perElement(g, inputDerivative) : nil,
                    needTarget ? perElement(g, targetDerivative) : nil]
        }
    }
}
