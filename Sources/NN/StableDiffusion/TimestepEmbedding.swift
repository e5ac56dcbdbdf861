import Foundation
import Tensor

/// The sinusoidal timestep features and the MLP that embeds them, as diffusers'
/// `get_timestep_embedding`, `Timesteps` and `TimestepEmbedding`.
///
/// The U-Net conditions every residual block on `timeEmbedding(sinusoidal(t))`; Stable Diffusion
/// v1.4 uses 320 sinusoidal features (`flip_sin_to_cos` true, frequency shift 0) and a 1280-wide
/// MLP. Checkpoint keys: `linear_1`, `linear_2`.
public final class TimestepEmbedding: Module, @unchecked Sendable {
    /// `inputChannels → timeEmbeddingDimension`.
    public let linear1: Linear
    /// `timeEmbeddingDimension → timeEmbeddingDimension`.
    public let linear2: Linear

    /// Creates the MLP with zero weights, to be loaded from a checkpoint.
    ///
    /// - Parameters:
    ///   - inputChannels: the number of sinusoidal features.
    ///   - timeEmbeddingDimension: the width of the embedding (4 × the first block's channels in
    ///     the U-Net).
    public init(inputChannels: Int, timeEmbeddingDimension: Int) {
        linear1 = Linear(inputSize: inputChannels, outputSize: timeEmbeddingDimension)
        linear2 = Linear(inputSize: timeEmbeddingDimension, outputSize: timeEmbeddingDimension)
        super.init()
    }

    /// `linear_1` and `linear_2`.
    public override var children: [(String, Module)] { [("linear_1", linear1), ("linear_2", linear2)] }

    /// `linear_2(SiLU(linear_1(x)))`: `[N, inputChannels] → [N, timeEmbeddingDimension]`.
    public func callAsFunction(_ features: Tensor) -> Tensor {
        linear2(linear1(features).silu())
    }

    /// Sinusoidal timestep features, as diffusers' `get_timestep_embedding`.
    ///
    /// With `half = dimension / 2` and `fᵢ = exp(−ln(maxPeriod) · i / (half − shift))`, row `n` is
    /// `[sin(s·tₙ·f₀) … sin(s·tₙ·f_{half−1}), cos(s·tₙ·f₀) … cos(s·tₙ·f_{half−1})]`, with the
    /// cosines first when `flipSinToCos`, and a zero column appended when `dimension` is odd.
    /// Every step is computed in float32 in the order diffusers computes it.
    ///
    /// - Parameters:
    ///   - timesteps: one timestep per batch element (fractional values allowed).
    ///   - dimension: the number of features.
    ///   - flipSinToCos: put the cosines first (Stable Diffusion: `true`).
    ///   - downscaleFrequencyShift: diffusers' `downscale_freq_shift` / `freq_shift` (SD: 0).
    ///   - scale: the factor `s` on the arguments.
    ///   - maxPeriod: the longest period.
    /// - Returns: `[timesteps.count, dimension]`, a constant (no gradient).
    public static func sinusoidal(_ timesteps: [Float], dimension: Int, flipSinToCos: Bool,
                                  downscaleFrequencyShift: Float, scale: Float = 1,
                                  maxPeriod: Float = 10000) -> Tensor {
        precondition(dimension >= 2, "TimestepEmbedding.sinusoidal: dimension \(dimension) must be at least 2")
        let half = dimension / 2
        precondition(Float(half) != downscaleFrequencyShift,
                     "TimestepEmbedding.sinusoidal: half dimension \(half) equals the frequency shift")
        let logPeriod = Float(-Foundation.log(Double(maxPeriod)))
        let denominator = Float(half) - downscaleFrequencyShift
        let frequencies = (0..<half).map { Foundation.exp(logPeriod * Float($0) / denominator) }
        var result = Tensor(repeating: 0, shape: [timesteps.count, dimension])
        result.withUnsafeMutableBufferPointer { out in
            for (n, t) in timesteps.enumerated() {
                let row = n * dimension
                let (sinOffset, cosOffset) = flipSinToCos ? (half, 0) : (0, half)
                for i in 0..<half {
                    let argument = scale * (t * frequencies[i])
                    out[row + sinOffset + i] = Foundation.sin(argument)
                    out[row + cosOffset + i] = Foundation.cos(argument)
                }
            }
        }
        return result
    }
}
