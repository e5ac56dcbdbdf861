import Foundation
import Tensor

/// The VAE's posterior over latents, as diffusers' `DiagonalGaussianDistribution`: the encoder's
/// `[N, 2L, h, w]` output split along the channels into a mean and a log-variance (clamped to
/// `[-30, 20]`).
///
/// Stable Diffusion pipelines encode with the mean (``mode``) or a sample
/// (``sample(using:)``); the pretext task uses the mean. All properties are differentiable
/// functions of ``parameters``.
public struct DiagonalGaussianDistribution: @unchecked Sendable {
    /// The encoder's output `[N, 2L, h, w]`.
    public let parameters: Tensor
    /// The mean `[N, L, h, w]`.
    public let mean: Tensor
    /// The log-variance `[N, L, h, w]`, clamped to `[-30, 20]`.
    public let logVariance: Tensor

    /// Splits `parameters` `[N, 2L, h, w]` into mean and log-variance.
    public init(parameters: Tensor) {
        precondition(parameters.rank >= 2 && parameters.shape[1] % 2 == 0,
                     "DiagonalGaussianDistribution: parameters \(parameters.shape) need an even channel count")
        self.parameters = parameters
        let halves = parameters.chunked(2, axis: 1)
        mean = halves[0]
        logVariance = halves[1].clamped(min: -30, max: 20)
    }

    /// `exp(½ · logVariance)`.
    public var standardDeviation: Tensor { (0.5 * logVariance).exp() }
    /// `exp(logVariance)`.
    public var variance: Tensor { logVariance.exp() }
    /// The most likely latent: the mean.
    public var mode: Tensor { mean }

    /// `mean + standardDeviation · noise`, with the noise given (`[N, L, h, w]`).
    public func sample(noise: Tensor) -> Tensor {
        precondition(noise.shape == mean.shape, "DiagonalGaussianDistribution.sample: noise \(noise.shape) is not \(mean.shape)")
        return mean + standardDeviation * noise
    }

    /// A sample with standard normal noise drawn from `generator`.
    public func sample<G: RandomNumberGenerator>(using generator: inout G) -> Tensor {
        sample(noise: Tensor.randomNormal(mean.shape, using: &generator))
    }

    /// The KL divergence to the standard normal per batch element, `½ Σ (μ² + σ² − 1 − log σ²)`
    /// over all latent axes: `[N]`.
    public func klDivergence() -> Tensor {
        let terms = mean.square() + variance - 1 - logVariance
        return 0.5 * terms.sum(alongAxes: Array(1..<mean.rank))
    }
}
