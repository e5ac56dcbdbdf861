import Foundation

// Activation functions, each with its pullback. Definitions follow PyTorch's `torch.nn.functional`.

extension Tensor {
    /// `max(x, 0)`; gradient 0 at 0 (as PyTorch).
    public func relu() -> Tensor {
        let x = self
        let out = map { $0 > 0 ? $0 : 0 }
        return Tensor.record("relu", out, inputs: [x]) { g in [g * x.map { $0 > 0 ? 1 : 0 }] }
    }

    /// GELU, exact form: `x · Φ(x) = x · ½(1 + erf(x/√2))`, as PyTorch's `gelu` (default
    /// `approximate="none"`).
    ///
    /// Computed by a vectorised kernel, with relative error below 1e-6
    /// against the exact value everywhere it is a normal float (Φ of a negative argument comes
    /// from erfc directly, so the tail does not cancel to 0 as `½(1 + erf)` does in float); the
    /// output is 0 below x ≈ −13.2, where it would be subnormal. On CPUs with AVX2 or AVX-512 the
    /// same algorithm runs as a C kernel of that width (``Kernels/activeLevel``).
    /// ``referenceGelu()`` is the plain per-element formula.
    public func gelu() -> Tensor {
        let x = self
        let out = Tensor(uninitializedShape: shape)
        Tensor.geluForward(storage.baseAddress, into: out.storage.baseAddress, count: count)
        return Tensor.record("gelu", out, inputs: [x]) { g in
            let derivative = Tensor(uninitializedShape: x.shape)
            Tensor.geluForward(x.storage.baseAddress, into: derivative.storage.baseAddress, count: x.count, derivative: true)
            return [g * derivative]
        }
    }

    /// The exact GELU `½x(1 + erf(x/√2))` with Foundation's `erf`, element by element (no
    /// autodiff): the reference for tests and benchmarks of ``gelu()``.
    public func referenceGelu() -> Tensor {
        map { 0.5 * $0 * (1 + Foundation.erf($0 * 0.70710678118654752)) }
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

// MARK: Vectorised GELU

/// Sixteen lanes: SSE2, the baseline of x86-64, runs them as four 4-wide quarters, which keeps
/// four independent dependency chains in flight: 21 % faster than eight lanes (SIMD32 is not
/// lowered to vector code at all).
typealias GeluVector = SIMD16<Float>

extension Tensor {
    /// `output[i] = gelu(input[i])` (or `gelu′(input[i])` when `derivative`) for `i < count`,
    /// split across cores, by the C kernel of `level` when this CPU has it, otherwise by
    /// ``geluKernel(_:into:count:)`` / ``geluDerivativeKernel(_:into:count:)``. The C kernels
    /// stream the output around the caches when `streaming` (by default: from
    /// ``Kernels/streamingFloats`` elements on).
    static func geluForward(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int,
                            derivative: Bool = false, level: KernelLevel = Kernels.activeLevel, streaming: Bool? = nil) {
        let source = SendablePointer(UnsafeMutablePointer(mutating: input)), destination = SendablePointer(output)
        let table = level == Kernels.activeLevel ? Kernels.active : Kernels.table(level)
        if let kernel = derivative ? table?.geluDerivative : table?.gelu {
            let stream: Int32 = streaming ?? (count >= Kernels.streamingFloats) ? 1 : 0
            Parallel.forRanges(count) { start, end in
                kernel(source.pointer + start, destination.pointer + start, end - start, stream)
            }
        } else if derivative {
            Parallel.forRanges(count) { start, end in
                geluDerivativeKernel(source.pointer + start, into: destination.pointer + start, count: end - start)
            }
        } else {
            Parallel.forRanges(count) { start, end in
                geluKernel(source.pointer + start, into: destination.pointer + start, count: end - start)
            }
        }
    }

    /// `output[i] = gelu(input[i])` for `i < count`, sixteen lanes at a time.
    static func geluKernel(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        forEachLaneBlock(input, into: output, count: count) { x in x * normalCDF(x) }
    }

    /// `output[i] = gelu′(input[i]) = Φ(x) + x·φ(x)` for `i < count`, sixteen lanes at a time.
    static func geluDerivativeKernel(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        forEachLaneBlock(input, into: output, count: count) { x in
            // φ(x) = e^{−x²/2} / √(2π), with x² split exactly as in `normalCDF`.
            let (square, squareError) = halfSquareSplit(x)
            let density = exponential(-square, plus: -squareError) * 0.3989422804014327
            return normalCDF(x) + x * density
        }
    }

    /// Runs `body` over `input` in blocks of sixteen lanes; the last partial block is padded.
    @inline(__always)
    static func forEachLaneBlock(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int,
                                 _ body: (GeluVector) -> GeluVector) {
        let lanes = GeluVector.scalarCount
        let source = UnsafeRawPointer(input), destination = UnsafeMutableRawPointer(output)
        var i = 0
        while i &+ lanes <= count {
            let x = source.loadUnaligned(fromByteOffset: i &* 4, as: GeluVector.self)
            destination.storeBytes(of: body(x), toByteOffset: i &* 4, as: GeluVector.self)
            i &+= lanes
        }
        if i < count {
            var x = GeluVector(repeating: 0)
            for k in 0..<(count &- i) { x[k] = input[i &+ k] }
            let y = body(x)
            for k in 0..<(count &- i) { output[i &+ k] = y[k] }
        }
    }

    /// `(h, e)` with `h + e = x²/2` to about 2⁻³⁵ relative, `h` exact: `x = hi + lo` where `hi`
    /// keeps the top 12 significand bits, so `hi²` is exact and `lo·(x + hi)` is the remainder.
    /// Rounding `x²` itself would cost up to ½ ulp of 85 (4e-6) in `e^{−x²/2}`.
    @inline(__always)
    static func halfSquareSplit(_ x: GeluVector) -> (GeluVector, GeluVector) {
        let high = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0xFFFF_F000, to: GeluVector.self)
        let low = x - high
        return (0.5 * (high * high), 0.5 * (low * (x + high)))
    }

    /// `eˢ⁺ᶜ` for an exact `s` and a small correction `c`, relative error ~1e-7 (Cody–Waite
    /// reduction by ln 2 in two parts, then Cephes' `expf` polynomial on |r| ≤ ½ ln 2); 0 where
    /// `s + c < −87.3` (the result would be subnormal).
    @inline(__always)
    static func exponential(_ s: GeluVector, plus c: GeluVector) -> GeluVector {
        let a = s + c
        // Round a·log₂e to the nearest integer n by adding 1.5·2²³; the low bits are then n.
        let shifted = a * 1.4426950408889634 + 12_582_912
        let n = shifted - 12_582_912
        let r = ((s - n * 0.693359375) - n * -2.12194440e-4) + c
        var p = GeluVector(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let expR = p * (r * r) + r + 1
        // 2ⁿ from n's bits: (n + 127) << 23, with n = bits(shifted) − bits(1.5·2²³).
        let nBits = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: GeluVector.self)
        return (expR * scale).replacing(with: 0, where: a .< -87.3)
    }

    /// The standard normal CDF Φ(x). For x < 0 it is ½·erfc(|x|/√2) computed directly (relative
    /// accuracy in the tail), for x ≥ 0 it is 1 − ½·erfc(x/√2). erfc follows Numerical Recipes'
    /// `erfcc` (Press et al., 2nd ed., §6.2): `erfc(z) = t·exp(−z² + P(t))`, `t = 1/(1 + z/2)`,
    /// P of degree 9, fractional error below 1.2e-7 for all z ≥ 0.
    @inline(__always)
    static func normalCDF(_ x: GeluVector) -> GeluVector {
        // |x|, capped where Φ is 0 or 1 in float anyway (keeps ∞ − ∞ out of the split).
        let magnitude = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: GeluVector.self)
        let capped = magnitude.replacing(with: 20, where: magnitude .> 20)
        let z = capped * 0.70710678118654752
        let t = 1 / (1 + 0.5 * z)
        var p = GeluVector(repeating: 0.17087277)
        p = p * t - 0.82215223
        p = p * t + 1.48851587
        p = p * t - 1.13520398
        p = p * t + 0.27886807
        p = p * t - 0.18628806
        p = p * t + 0.09678418
        p = p * t + 0.37409196
        p = p * t + 1.00002368
        p = p * t - 1.26551223
        // z² = x²/2 exactly split, so the exponent carries no rounding of z or z².
        let (square, squareError) = halfSquareSplit(capped)
        let halfTail = 0.5 * t * exponential(-square, plus: p - squareError)
        return halfTail.replacing(with: 1 - halfTail, where: x .>= 0)
    }
}
