import Foundation
import Tensor

/// How the per-step noise variances β₁…β_T of a diffusion process are laid out, as diffusers'
/// `beta_schedule`.
///
/// The betas are computed with diffusers' float32 PyTorch arithmetic, so they equal
/// `DDIMScheduler(...).betas` bit for bit (see ``betas(count:start:end:)``).
public enum BetaSchedule: String, Codable, Sendable, CaseIterable {
    /// Evenly spaced betas from `beta_start` to `beta_end` (DDPM): `torch.linspace(start, end, T)`.
    case linear = "linear"
    /// Evenly spaced square roots, squared: `torch.linspace(√start, √end, T) ** 2`. Stable
    /// Diffusion's schedule.
    case scaledLinear = "scaled_linear"
    /// The cosine schedule of Nichol & Dhariwal (2021): `βₜ = min(1 − ᾱ(t/T)/ᾱ((t−1)/T), 0.999)`
    /// with `ᾱ(s) = cos²((s + 0.008)/1.008 · π/2)`, as diffusers' `betas_for_alpha_bar`.
    /// Ignores `beta_start` and `beta_end`.
    case squaredCosineCapV2 = "squaredcos_cap_v2"

    /// The `count` betas of this schedule, as diffusers' `DDIMScheduler.__init__` computes them.
    ///
    /// - Parameters:
    ///   - count: the number of training timesteps T (`num_train_timesteps`).
    ///   - start: `beta_start` (unused by ``squaredCosineCapV2``).
    ///   - end: `beta_end` (unused by ``squaredCosineCapV2``).
    /// - Returns: `[T]` betas in float32.
    public func betas(count: Int, start: Double, end: Double) -> [Float] {
        precondition(count > 0, "BetaSchedule.betas: count \(count) must be positive")
        switch self {
        case .linear:
            return TorchArithmetic.linspace(start: Float(start), end: Float(end), count: count)
        case .scaledLinear:
            return TorchArithmetic.linspace(start: Float(start.squareRoot()), end: Float(end.squareRoot()), count: count)
                .map { $0 * $0 }
        case .squaredCosineCapV2:
            return BetaSchedule.betasForAlphaBar(count: count, maximumBeta: 0.999)
        }
    }

    /// diffusers' `betas_for_alpha_bar` with the cosine `alpha_bar`: computed in double precision,
    /// then rounded to float32.
    static func betasForAlphaBar(count: Int, maximumBeta: Double) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<count).map { i in
            let t1 = Double(i) / Double(count), t2 = Double(i + 1) / Double(count)
            return Float(Swift.min(1 - alphaBar(t2) / alphaBar(t1), maximumBeta))
        }
    }

    /// Rescales `betas` to zero terminal SNR (Lin et al. 2024, "Common Diffusion Noise Schedules and
    /// Sample Steps are Flawed", Algorithm 1), as diffusers' `rescale_zero_terminal_snr` in float32:
    /// √ᾱ is shifted so that its last value is 0 and scaled so that its first is unchanged.
    public static func rescaledToZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        precondition(betas.count >= 2, "rescaledToZeroTerminalSNR: needs at least 2 betas, got \(betas.count)")
        let alphasCumulativeProduct = TorchArithmetic.cumulativeProduct(betas.map { 1 - $0 })
        var roots = alphasCumulativeProduct.map { $0.squareRoot() }
        let first = roots[0], last = roots[roots.count - 1]
        let scale = first / (first - last)
        for i in roots.indices { roots[i] = (roots[i] - last) * scale }
        let alphaBars = roots.map { $0 * $0 }
        var rescaled = [Float](repeating: 0, count: betas.count)
        rescaled[0] = 1 - alphaBars[0]
        for i in 1..<betas.count { rescaled[i] = 1 - alphaBars[i] / alphaBars[i - 1] }
        return rescaled
    }
}

/// PyTorch's CPU float32 kernels where diffusers' results depend on their rounding.
enum TorchArithmetic {
    /// `torch.linspace(start, end, count, dtype=torch.float32)` on the CPU: the step is computed in
    /// float32, the first half counts up from `start` and the second half down from `end`, each value
    /// with one fused multiply–add (as the compiled kernel does), so the results are bit-identical.
    static func linspace(start: Float, end: Float, count: Int) -> [Float] {
        if count == 1 { return [start] }
        let step = (end - start) / Float(count - 1)
        let halfway = count / 2
        return (0..<count).map { i in
            i < halfway ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(count - 1 - i))
        }
    }

    /// `torch.cumprod` of a float32 vector on the CPU: the running product is kept in double
    /// precision (PyTorch's CPU accumulation type for float) and each output rounded to float32.
    static func cumulativeProduct(_ values: [Float]) -> [Float] {
        var product = 1.0
        return values.map { value in
            product *= Double(value)
            return Float(product)
        }
    }
}
