import Foundation

// Group normalisation followed by SiLU, the pair that opens every residual block of the Stable
// Diffusion U-Net and VAE. In inference (nothing to differentiate) it is one pass over the input
// into one new tensor, with a vectorised exponential; when a gradient is needed it is the
// composition of `groupNorm` and `silu`, whose backward passes are the tested ones.

extension Tensor {
    /// `silu(groupNorm(input))`, as PyTorch's `F.silu(F.group_norm(input, groups, weight, bias, eps))`.
    ///
    /// When gradients are recorded and any operand requires one, this is exactly
    /// ``groupNorm(_:groups:weight:bias:epsilon:)`` then ``silu()``; otherwise a fused kernel
    /// computes the same values (within float32 rounding: its exponential is a polynomial with
    /// about one ulp of error) in one pass, without the intermediate tensor.
    ///
    /// - Parameters:
    ///   - input: `[N, C, *]`.
    ///   - groups: divides `C`.
    ///   - weight: the per-channel scale γ, `[C]` (1 when `nil`).
    ///   - bias: the per-channel shift β, `[C]` (0 when `nil`).
    ///   - epsilon: added to the variance.
    /// - Returns: a tensor shaped like `input`.
    public static func groupNormSiLU(_ input: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil,
                                     epsilon: Float = 1e-5) -> Tensor {
        let differentiable = input.requiresGradient || (weight?.requiresGradient ?? false) || (bias?.requiresGradient ?? false)
        if differentiable && GradientMode.isEnabled {
            return groupNorm(input, groups: groups, weight: weight, bias: bias, epsilon: epsilon).silu()
        }
        precondition(input.rank >= 2, "groupNormSiLU: input must be [N, C, *], got \(input.shape)")
        let batch = input.shape[0], channels = input.shape[1]
        precondition(groups > 0 && channels % groups == 0,
                     "groupNormSiLU: \(groups) groups do not divide the \(channels) channels of input \(input.shape)")
        if let weight { precondition(weight.shape == [channels], "groupNormSiLU: weight \(weight.shape) is not [\(channels)] for input \(input.shape)") }
        if let bias { precondition(bias.shape == [channels], "groupNormSiLU: bias \(bias.shape) is not [\(channels)] for input \(input.shape)") }
        let spatial = Shape.count(Array(input.shape.dropFirst(2)))
        let channelsPerGroup = channels / groups, width = channelsPerGroup * spatial
        precondition(width > 0, "groupNormSiLU: empty groups in input \(input.shape)")
        let out = Tensor(uninitializedShape: input.shape)
        let scale = weight ?? Tensor.ones([channels]), shift = bias ?? Tensor.zeros([channels])
        let px = input.storage.baseAddress, pw = scale.storage.baseAddress, pb = shift.storage.baseAddress
        let py = out.storage.baseAddress
        let eps = Double(epsilon)
        Parallel.forRanges(batch * groups, minimumChunk: Swift.max(1, (1 << 15) / width)) { start, end in
            for row in start..<end {
                let x = px + row &* width, y = py + row &* width
                let (mean, variance) = rowMoments(x, width)
                let m = Float(mean), mLow = Float(mean - Double(m)), r = Float(1 / (variance + eps).squareRoot())
                let firstChannel = (row % groups) &* channelsPerGroup
                for local in 0..<channelsPerGroup {
                    let c = firstChannel &+ local
                    let a = r * pw[c], b = pb[c]
                    let xc = x + local &* spatial, yc = y + local &* spatial
                    let av = SIMD16<Float>(repeating: a), bv = SIMD16<Float>(repeating: b)
                    let mv = SIMD16<Float>(repeating: m), lowVector = SIMD16<Float>(repeating: mLow)
                    var s = 0
                    while s &+ 16 <= spatial {
                        let v = (load16(xc, s) - mv - lowVector) * av + bv
                        UnsafeMutableRawPointer(yc + s).storeBytes(of: v / (1 + exponential16(-v)), as: SIMD16<Float>.self)
                        s &+= 16
                    }
                    while s < spatial {
                        let v = (xc[s] - m - mLow) * a + b
                        yc[s] = v / (1 + Foundation.exp(-v))
                        s &+= 1
                    }
                }
            }
        }
        return out
    }
}
