import Foundation
import NN
import Tensor

/// Stable Diffusion's VAE as a ``LatentCodec``: the posterior mean times the scaling factor
/// (0.18215 for v1.4), and back.
///
/// This matches what diffusers' img2img pipelines do with `latent_dist.mean` (not a sample), the
/// choice of DESIGN.md §6, so the pretext images are deterministic given the noise seed.
public struct StableDiffusionCodec: LatentCodec, @unchecked Sendable {
    /// The autoencoder.
    public let vae: AutoencoderKL

    /// Wraps a loaded VAE.
    public init(vae: AutoencoderKL) { self.vae = vae }

    /// `2^(levels − 1)`: 8 for Stable Diffusion's four-level VAE.
    public var downsamplingFactor: Int { vae.configuration.downsamplingFactor }

    /// Images `[B, 3, H, W]` in `[-1, 1]` to scaled latents.
    public func encode(_ images: Tensor) -> Tensor {
        do { return vae.scaledLatent(try vae.encode(images).mean) } catch {
            preconditionFailure("StableDiffusionCodec.encode: \(error)")
        }
    }

    /// Scaled latents to images in about `[-1, 1]`.
    public func decode(_ latents: Tensor) -> Tensor {
        do { return try vae.decode(vae.unscaledLatent(latents)) } catch {
            preconditionFailure("StableDiffusionCodec.decode: \(error)")
        }
    }
}

/// Stable Diffusion's U-Net as a ``Denoiser``, conditioned on the empty prompt (no guidance), as
/// the pretext task uses it (DESIGN.md §6). The prompt's embedding is computed once, when the
/// denoiser is made, and the text encoder is not kept.
public struct StableDiffusionDenoiser: Denoiser, @unchecked Sendable {
    /// The U-Net.
    public let unet: UNet2DConditionModel
    /// The text encoder's last hidden state for the empty prompt, `[1, L, D]`.
    public let emptyPromptEmbedding: Tensor

    /// Wraps a U-Net and computes the empty prompt's embedding with `textEncoder`.
    ///
    /// The empty prompt is `[start, end × (L − 1)]` with L the encoder's positions (77 for
    /// SD v1.4, whose start and end tokens are 49406 and 49407; a smaller vocabulary uses its
    /// configuration's beginning- and end-of-sequence ids).
    public init(unet: UNet2DConditionModel, textEncoder: CLIPTextModel) throws {
        let c = textEncoder.configuration
        let sdTokens = c.vocabularySize > CLIPTextModel.endOfTextToken
        let tokens = CLIPTextModel.emptyPromptTokens(
            length: c.maximumPositionEmbeddings,
            startToken: sdTokens ? CLIPTextModel.startOfTextToken : c.beginningOfSequenceTokenID,
            endToken: sdTokens ? CLIPTextModel.endOfTextToken : c.endOfSequenceTokenID)
        self.unet = unet
        emptyPromptEmbedding = try Tensor.withoutGradient { try textEncoder([tokens]).lastHiddenState }
    }

    /// Wraps a U-Net with a given conditioning `[1, L, D]`.
    public init(unet: UNet2DConditionModel, conditioning: Tensor) {
        self.unet = unet
        emptyPromptEmbedding = conditioning
    }

    /// `2^(down blocks − 1)`: 8 for SD v1.4.
    public var sizeMultiple: Int { 1 << max(0, unet.configuration.downBlockTypes.count - 1) }

    /// ε̂ for `sample` `[B, 4, h, w]` at `timestep`.
    public func modelOutput(for sample: Tensor, timestep: Int) -> Tensor {
        let b = sample.shape[0]
        let conditioning = emptyPromptEmbedding.expanded(to: [b] + Array(emptyPromptEmbedding.shape.dropFirst()))
        do {
            return try Tensor.withoutGradient {
                try unet(sample, timesteps: [Float](repeating: Float(timestep), count: b), encoderHiddenStates: conditioning)
            }
        } catch {
            preconditionFailure("StableDiffusionDenoiser: \(error)")
        }
    }
}

extension RestorationPipeline where Codec == StableDiffusionCodec, Model == StableDiffusionDenoiser {
    /// The Stable Diffusion restoration pipeline from a diffusers folder (`unet/`, `vae/`,
    /// `text_encoder/`), with SD v1.4's DDIM schedule (50 steps) unless `scheduler` is given.
    ///
    /// - Parameters:
    ///   - url: the diffusers folder (Stable Diffusion v1.4's layout).
    ///   - variant: `"fp16"` to read `*.fp16.safetensors` (converted to float32).
    ///   - scheduler: the noise schedule; the default is SD v1.4's DDIM schedule.
    public static func stableDiffusion(folder url: URL, variant: String? = nil,
                                       scheduler: any Scheduler = NoiseLevel.standardScheduler) throws -> Self {
        let folder = try DiffusersFolder(url)
        let denoiser = try StableDiffusionDenoiser(unet: try folder.unet(variant: variant), textEncoder: try folder.textEncoder(variant: variant))
        return RestorationPipeline(codec: StableDiffusionCodec(vae: try folder.vae(variant: variant)), denoiser: denoiser, scheduler: scheduler)
    }
}
