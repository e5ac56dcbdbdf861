import Foundation
import NN
import Tensor

/// Trains a small latent diffusion denoiser on photographs — a small `AutoencoderKL` with
/// ``AutoencoderTrainer``, its latent scaling factor, then a small `UNet2DConditionModel` with
/// ``UNetTrainer`` — and saves it as a diffusers-style folder that
/// ``RestorationPipeline/smallDenoiser(folder:scheduler:)`` loads, so the restoration pipeline
/// runs end to end without Stable Diffusion's weights.
///
/// Output layout (every phase resumes from its checkpoints when run again):
///
///     <output>/vae-training/   checkpoint-<step>.safetensors, loss.csv
///     <output>/unet-training/  checkpoint-<step>.safetensors, loss.csv
///     <output>/model/vae/      config.json, diffusion_pytorch_model.safetensors
///     <output>/model/unet/     config.json, diffusion_pytorch_model.safetensors
public struct SmallDenoiserTraining: Sendable {
    /// The VAE's architecture (its `scaling_factor` is measured after training).
    public var vaeConfiguration: AutoencoderKLConfiguration
    /// The U-Net's architecture.
    public var unetConfiguration: UNet2DConditionConfiguration
    /// The VAE's training run.
    public var vaeSettings: DiffusionTrainingSettings
    /// The U-Net's training run.
    public var unetSettings: DiffusionTrainingSettings

    /// Creates a recipe; the defaults are the small configurations.
    public init(vaeConfiguration: AutoencoderKLConfiguration = .small, unetConfiguration: UNet2DConditionConfiguration = .small(),
                vaeSettings: DiffusionTrainingSettings, unetSettings: DiffusionTrainingSettings) {
        self.vaeConfiguration = vaeConfiguration
        self.unetConfiguration = unetConfiguration
        self.vaeSettings = vaeSettings
        self.unetSettings = unetSettings
    }

    /// Which phase a progress report belongs to.
    public enum Phase: String, Sendable {
        /// Training the VAE.
        case autoencoder
        /// Training the U-Net.
        case unet
    }

    /// Runs (or resumes) both phases and writes `<output>/model`.
    ///
    /// - Returns: the trained VAE (with its scaling factor) and U-Net.
    @discardableResult
    public func run(crops: TrainingCrops, output: URL,
                    progress: (Phase, DiffusionTrainingProgress) -> Void = { _, _ in }) throws -> (vae: AutoencoderKL, unet: UNet2DConditionModel) {
        let vaeTrainer = try AutoencoderTrainer(configuration: vaeConfiguration, settings: vaeSettings, crops: crops,
                                                output: output.appendingPathComponent("vae-training"))
        try vaeTrainer.run { progress(.autoencoder, $0) }
        var scaled = vaeConfiguration
        scaled.scalingFactor = try AutoencoderTrainer.latentScalingFactor(vae: vaeTrainer.vae, crops: crops, cropSize: vaeSettings.cropSize,
                                                                          seed: RandomGenerator.derivedSeed(vaeSettings.seed, stream: DiffusionStreams.latentScaling))
        let vae = try AutoencoderKL(configuration: scaled)
        try vae.load(vaeTrainer.vae.stateDictionary())
        let unetTrainer = try UNetTrainer(configuration: unetConfiguration, vae: vae, settings: unetSettings, crops: crops,
                                          output: output.appendingPathComponent("unet-training"))
        try unetTrainer.run { progress(.unet, $0) }
        try Self.save(vae: vae, unet: unetTrainer.unet, to: output.appendingPathComponent("model"))
        return (vae, unetTrainer.unet)
    }

    /// Writes `vae/` and `unet/` (config.json with diffusers' keys, diffusion_pytorch_model.safetensors).
    public static func save(vae: AutoencoderKL, unet: UNet2DConditionModel, to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        for (part, model, configuration) in [("vae", vae as Module, try encoder.encode(vae.configuration)),
                                             ("unet", unet as Module, try encoder.encode(unet.configuration))] {
            let directory = folder.appendingPathComponent(part, isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try configuration.write(to: directory.appendingPathComponent("config.json"), options: .atomic)
            try model.save(to: directory.appendingPathComponent("diffusion_pytorch_model.safetensors"), metadata: ["format": "pt"])
        }
    }
}

extension RestorationPipeline where Codec == StableDiffusionCodec, Model == StableDiffusionDenoiser {
    /// A small latent diffusion denoiser from a folder with `vae/` and `unet/` (as written by
    /// ``SmallDenoiserTraining``), conditioned on the null conditioning it was trained with: zeros
    /// `[1, 1, cross_attention_dim]`. No text encoder is needed.
    public static func smallDenoiser(folder url: URL, scheduler: any Scheduler = NoiseLevel.standardScheduler) throws -> Self {
        let folder = try DiffusersFolder(url)
        let unet = try folder.unet()
        let conditioning = Tensor(repeating: 0, shape: [1, 1, unet.configuration.crossAttentionDimension])
        return RestorationPipeline(codec: StableDiffusionCodec(vae: try folder.vae()),
                                   denoiser: StableDiffusionDenoiser(unet: unet, conditioning: conditioning), scheduler: scheduler)
    }
}
