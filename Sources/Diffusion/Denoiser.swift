import Tensor

/// A model that, given a noisy batch and its timestep, predicts what the scheduler's
/// ``PredictionType`` asks for: the noise ε for Stable Diffusion v1 (and the paper's restorations).
///
/// The protocol is all the restoration loop needs, so denoisers are pluggable, as in the paper's
/// ablations: Stable Diffusion's U-Net conditioned on the empty prompt (in latent space), a small
/// U-Net trained on photographs, or a pixel-space denoiser. Conditioning (a prompt embedding, a
/// class) belongs to the conforming type, which computes it once and keeps it.
///
/// Implementations run under `Tensor.withoutGradient` when the pipeline drives them.
public protocol Denoiser {
    /// The model's output for `sample` at `timestep`.
    ///
    /// - Parameters:
    ///   - sample: x_t, `[B, C, H, W]` (latents, or pixels in `[-1, 1]` for pixel-space models).
    ///   - timestep: t, in `0..<T` of the scheduler; the same for the whole batch.
    /// - Returns: `[B, C, H, W]`: ε̂ (or v̂, or x̂₀, as the scheduler's prediction type says).
    func modelOutput(for sample: Tensor, timestep: Int) -> Tensor

    /// The height and width of `sample` must be multiples of this (8 for Stable Diffusion's U-Net,
    /// whose three 2× downsamplings must divide evenly). 1 by default.
    var sizeMultiple: Int { get }
}

extension Denoiser {
    /// No size constraint.
    public var sizeMultiple: Int { 1 }
}

/// The map between images and the space the denoiser works in: a VAE for latent diffusion, the
/// identity (``PixelSpace``) for pixel-space denoisers.
public protocol LatentCodec {
    /// Images `[B, 3, H, W]` in `[-1, 1]` to the denoiser's space, `[B, C, H/f, W/f]` with
    /// f = ``downsamplingFactor``, already scaled as the denoiser expects (Stable Diffusion: the
    /// posterior mean × 0.18215).
    func encode(_ images: Tensor) -> Tensor
    /// The inverse of ``encode(_:)``: `[B, C, h, w]` to images `[B, 3, h·f, w·f]` in about `[-1, 1]`.
    func decode(_ latents: Tensor) -> Tensor
    /// How many pixels one latent position covers along each side, f (8 for Stable Diffusion's VAE).
    var downsamplingFactor: Int { get }
}

/// The identity codec: the denoiser works on pixels in `[-1, 1]` (the paper's pixel-space
/// ablations, with ADM or BF-CNN denoisers).
public struct PixelSpace: LatentCodec, Sendable {
    /// Creates the identity codec.
    public init() {}
    /// The images themselves.
    public func encode(_ images: Tensor) -> Tensor { images }
    /// The samples themselves.
    public func decode(_ latents: Tensor) -> Tensor { latents }
    /// 1.
    public var downsamplingFactor: Int { 1 }
}
