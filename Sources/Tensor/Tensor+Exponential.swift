// Sixteen-lane exponentials for the Swift kernels (softmax rows, group norm + SiLU): one Cephes
// `expf` core, clamped differently for each caller's argument range. GELU's exponential of a split
// argument (`Tensor+Activation.swift`) and the C kernels (`CKernels`) are the other two; the C
// kernels follow this code line by line.

extension Tensor {
    /// Cephes' `expf` on arguments already clamped to `[−87.34, 88.3]`: `x = k·ln 2 + r` with
    /// `|r| ≤ ln 2 / 2` (ln 2 in two parts), `eʳ` by a degree-5 polynomial times r² plus `r + 1`,
    /// and `2ᵏ` built from exponent bits; about one ulp. The nearest integer k comes from adding
    /// 1.5·2²³ (whose float spacing is 1), so every step is a plain vector op.
    @inline(__always)
    static func cephesExponential(clamped: SIMD16<Float>) -> SIMD16<Float> {
        let magic = SIMD16<Float>(repeating: 12_582_912)  // 1.5 · 2²³, bit pattern 0x4B40_0000
        let shifted = clamped * 1.44269504088896341 + magic
        let k = shifted - magic
        let r = clamped - k * 0.693359375 + k * 2.12194440e-4
        var p = SIMD16<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let e = p * (r * r) + r + 1
        // 2ᵏ: the bits of `shifted` minus those of 1.5·2²³ are k; add the exponent bias 127.
        let integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        return e * unsafeBitCast((integer &+ 127) &<< 23, to: SIMD16<Float>.self)
    }

    /// `eˣ` lane by lane with arguments clamped to `[−87.3, 88.3]` (NaN to the lower bound), so
    /// the result is finite and positive: SiLU's `x / (1 + e⁻ˣ)` needs no other guard.
    @inline(__always)
    static func exponential16(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let low = SIMD16<Float>(repeating: -87.3), high = SIMD16<Float>(repeating: 88.3)
        return cephesExponential(clamped: x.replacing(with: low, where: .!(x .>= low)).replacing(with: high, where: x .> high))
    }

    /// `eˣ` for sixteen arguments `x ≤ 0` (softmax's shifted rows); within 2·10⁻⁷ relative of
    /// `expf`. Arguments below `ln(FLT_MIN)` (including `-inf`) give 0, NaN stays NaN, positive
    /// arguments are treated as 0. (Clamping uses `replace(with:where:)`: `pointwiseMin/Max`
    /// are not vectorised and made this ten times slower.)
    @inline(__always)
    static func exponentialOfNonPositive(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let lowest = SIMD16<Float>(repeating: -87.33654), zero = SIMD16<Float>()
        var clamped = x
        clamped.replace(with: lowest, where: x .< lowest)
        clamped.replace(with: zero, where: x .> zero)
        return cephesExponential(clamped: clamped).replacing(with: zero, where: x .< lowest)
    }
}
