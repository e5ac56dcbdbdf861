import Foundation
import Tensor

/// The configuration of an ``AutoencoderKL``, read from diffusers' `vae/config.json`.
///
/// Coding keys are diffusers' JSON names; a key absent from the JSON takes Stable Diffusion
/// v1.4's value, so `AutoencoderKLConfiguration()` is SD v1.4's VAE. Keys Grain does not read
/// (`_class_name`, `force_upcast`, `latents_mean`, …) are ignored.
public struct AutoencoderKLConfiguration: Codable, Equatable, Sendable {
    /// `in_channels`: image channels in.
    public var inChannels = 3
    /// `out_channels`: image channels out.
    public var outChannels = 3
    /// `down_block_types`: `DownEncoderBlock2D` per level.
    public var downBlockTypes = Array(repeating: "DownEncoderBlock2D", count: 4)
    /// `up_block_types`: `UpDecoderBlock2D` per level.
    public var upBlockTypes = Array(repeating: "UpDecoderBlock2D", count: 4)
    /// `block_out_channels`: channels per level.
    public var blockOutChannels = [128, 256, 512, 512]
    /// `layers_per_block`: residual blocks per encoder level (one more per decoder level).
    public var layersPerBlock = 2
    /// `act_fn`: must be `silu`.
    public var activationFunction = "silu"
    /// `latent_channels`: the latent's channels.
    public var latentChannels = 4
    /// `norm_num_groups`: group-norm groups.
    public var normNumGroups = 32
    /// `sample_size`: the image side the model was trained at (informational).
    public var sampleSize: Int? = 512
    /// `scaling_factor`: the factor applied to latents before the U-Net (0.18215 for SD v1).
    public var scalingFactor: Float = 0.18215
    /// `shift_factor`: subtracted from latents before scaling (`null` for SD v1).
    public var shiftFactor: Float? = nil
    /// `use_quant_conv`: whether `quant_conv` exists.
    public var useQuantConv = true
    /// `use_post_quant_conv`: whether `post_quant_conv` exists.
    public var usePostQuantConv = true
    /// `mid_block_add_attention`: whether the middle blocks have attention.
    public var midBlockAddAttention = true

    /// Stable Diffusion v1.4's configuration.
    public init() {}

    /// diffusers' JSON names.
    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels", downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types", blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case activationFunction = "act_fn", latentChannels = "latent_channels", normNumGroups = "norm_num_groups"
        case sampleSize = "sample_size", scalingFactor = "scaling_factor", shiftFactor = "shift_factor"
        case useQuantConv = "use_quant_conv", usePostQuantConv = "use_post_quant_conv"
        case midBlockAddAttention = "mid_block_add_attention"
    }

    /// Decodes diffusers' JSON; absent keys keep SD v1.4's value.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let decoded = try c.decodeIfPresent(T.self, forKey: key) { value = decoded }
        }
        try read(.inChannels, &inChannels); try read(.outChannels, &outChannels)
        try read(.downBlockTypes, &downBlockTypes); try read(.upBlockTypes, &upBlockTypes)
        try read(.blockOutChannels, &blockOutChannels); try read(.layersPerBlock, &layersPerBlock)
        try read(.activationFunction, &activationFunction); try read(.latentChannels, &latentChannels)
        try read(.normNumGroups, &normNumGroups)
        if c.contains(.sampleSize) { sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize) }
        try read(.scalingFactor, &scalingFactor)
        if c.contains(.shiftFactor) { shiftFactor = try c.decodeIfPresent(Float.self, forKey: .shiftFactor) }
        try read(.useQuantConv, &useQuantConv); try read(.usePostQuantConv, &usePostQuantConv)
        try read(.midBlockAddAttention, &midBlockAddAttention)
    }

    /// The factor between image and latent sides: `2^(levels − 1)` (8 for SD).
    public var downsamplingFactor: Int { 1 << max(blockOutChannels.count - 1, 0) }

    /// Checks that Grain implements this configuration.
    ///
    /// - Throws: ``StableDiffusionError/unsupportedConfiguration(path:key:value:)`` naming the
    ///   first JSON key whose value Grain does not implement.
    public func validate(source: String = "AutoencoderKLConfiguration") throws {
        func reject(_ key: CodingKeys, _ value: Any, _ why: String = "") throws -> Never {
            throw StableDiffusionError.unsupportedConfiguration(
                path: source, key: key.rawValue, value: "\(value)" + (why.isEmpty ? "" : " (\(why))"))
        }
        let levels = blockOutChannels.count
        if levels == 0 || blockOutChannels.contains(where: { $0 <= 0 }) { try reject(.blockOutChannels, blockOutChannels) }
        if downBlockTypes.count != levels { try reject(.downBlockTypes, downBlockTypes, "one per block_out_channels entry") }
        if upBlockTypes.count != levels { try reject(.upBlockTypes, upBlockTypes, "one per block_out_channels entry") }
        for type in downBlockTypes where type != "DownEncoderBlock2D" {
            try reject(.downBlockTypes, type, "Grain implements DownEncoderBlock2D")
        }
        for type in upBlockTypes where type != "UpDecoderBlock2D" {
            try reject(.upBlockTypes, type, "Grain implements UpDecoderBlock2D")
        }
        if layersPerBlock <= 0 { try reject(.layersPerBlock, layersPerBlock) }
        if activationFunction != "silu" { try reject(.activationFunction, activationFunction, "Grain implements silu") }
        if inChannels <= 0 { try reject(.inChannels, inChannels) }
        if outChannels <= 0 { try reject(.outChannels, outChannels) }
        if latentChannels <= 0 { try reject(.latentChannels, latentChannels) }
        if normNumGroups <= 0 || blockOutChannels.contains(where: { $0 % normNumGroups != 0 }) {
            try reject(.normNumGroups, normNumGroups, "must divide every block_out_channels entry")
        }
        if !scalingFactor.isFinite || scalingFactor == 0 { try reject(.scalingFactor, scalingFactor) }
    }
}

/// The KL-regularised autoencoder of Stable Diffusion, as diffusers' `AutoencoderKL`: images to
/// a diagonal Gaussian over latents (``encode(_:)``) and latents back to images (``decode(_:)``).
///
/// Images are `[N, 3, H, W]` in `[-1, 1]` with `H`, `W` multiples of ``AutoencoderKLConfiguration/downsamplingFactor``
/// (8 for SD); latents are `[N, 4, H/8, W/8]`. The U-Net works on `latent · scalingFactor`
/// (0.18215): ``scaledLatent(_:)`` and ``unscaledLatent(_:)`` apply it.
///
/// Checkpoint keys are diffusers' (`encoder.*`, `decoder.*`, `quant_conv`, `post_quant_conv`);
/// SD v1.4 has 248 tensors and 83,653,863 parameters. Differentiable.
///
/// This implementation matches diffusers' (0.42) `encode(...).latent_dist` and `decode(...).sample`
/// in float32. **Limitations:** no tiled or sliced encoding/decoding (memory grows with the image:
/// about 1.3 GB of activations at 512² without autodiff).
public final class AutoencoderKL: Module, @unchecked Sendable {
    /// The configuration the model was built from.
    public let configuration: AutoencoderKLConfiguration
    /// `encoder`.
    public let encoder: VAEEncoder
    /// `decoder`.
    public let decoder: VAEDecoder
    /// `quant_conv` (1×1 on the Gaussian's parameters), if configured.
    public let quantConv: Conv2d?
    /// `post_quant_conv` (1×1 on latents), if configured.
    public let postQuantConv: Conv2d?

    /// Creates the autoencoder with zero weights (allocated only when read), to be loaded from a
    /// checkpoint.
    ///
    /// - Throws: ``StableDiffusionError/unsupportedConfiguration(path:key:value:)`` when
    ///   ``AutoencoderKLConfiguration/validate(source:)`` rejects the configuration.
    public init(configuration: AutoencoderKLConfiguration = AutoencoderKLConfiguration()) throws {
        try configuration.validate()
        self.configuration = configuration
        encoder = VAEEncoder(configuration: configuration)
        decoder = VAEDecoder(configuration: configuration)
        let latent = configuration.latentChannels
        quantConv = configuration.useQuantConv ? Conv2d(inputChannels: 2 * latent, outputChannels: 2 * latent, kernelSize: 1) : nil
        postQuantConv = configuration.usePostQuantConv ? Conv2d(inputChannels: latent, outputChannels: latent, kernelSize: 1) : nil
        super.init()
    }

    /// `encoder`, `decoder`, `quant_conv`, `post_quant_conv`.
    public override var children: [(String, Module)] {
        var result: [(String, Module)] = [("encoder", encoder), ("decoder", decoder)]
        if let quantConv { result.append(("quant_conv", quantConv)) }
        if let postQuantConv { result.append(("post_quant_conv", postQuantConv)) }
        return result
    }

    /// Encodes images `[N, inChannels, H, W]` (in `[-1, 1]`) to the posterior over latents.
    ///
    /// - Throws: ``StableDiffusionError/invalidInput(model:reason:)`` when the shape does not fit.
    public func encode(_ images: Tensor) throws -> DiagonalGaussianDistribution {
        let c = configuration, factor = c.downsamplingFactor
        guard images.rank == 4, images.shape[0] > 0, images.shape[1] == c.inChannels,
              images.shape[2] > 0, images.shape[3] > 0,
              images.shape[2] % factor == 0, images.shape[3] % factor == 0 else {
            throw StableDiffusionError.invalidInput(
                model: "AutoencoderKL.encode",
                reason: "images \(images.shape) must be [N, \(c.inChannels), H, W] with H and W positive multiples of \(factor)")
        }
        let moments = encoder(images)
        return DiagonalGaussianDistribution(parameters: quantConv.map { $0(moments) } ?? moments)
    }

    /// Decodes latents `[N, latentChannels, h, w]` (unscaled) to images `[N, outChannels, h·f, w·f]`.
    ///
    /// - Throws: ``StableDiffusionError/invalidInput(model:reason:)`` when the shape does not fit.
    public func decode(_ latents: Tensor) throws -> Tensor {
        let c = configuration
        guard latents.rank == 4, latents.shape[0] > 0, latents.shape[1] == c.latentChannels,
              latents.shape[2] > 0, latents.shape[3] > 0 else {
            throw StableDiffusionError.invalidInput(
                model: "AutoencoderKL.decode",
                reason: "latents \(latents.shape) must be [N, \(c.latentChannels), h, w] (latent_channels \(c.latentChannels))")
        }
        return decoder(postQuantConv.map { $0(latents) } ?? latents)
    }

    /// `(latent − shiftFactor) · scalingFactor`: what the U-Net works on.
    public func scaledLatent(_ latent: Tensor) -> Tensor {
        (configuration.shiftFactor.map { latent - $0 } ?? latent) * configuration.scalingFactor
    }

    /// `latent / scalingFactor + shiftFactor`: back to what ``decode(_:)`` takes.
    public func unscaledLatent(_ scaled: Tensor) -> Tensor {
        let unscaled = scaled / configuration.scalingFactor
        return configuration.shiftFactor.map { unscaled + $0 } ?? unscaled
    }
}
