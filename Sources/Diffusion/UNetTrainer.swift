import Foundation
import NN
import Tensor

/// Grain's small U-Net configuration for training on a CPU.
extension UNet2DConditionConfiguration {
    /// A small U-Net for CPU training on a small VAE's latents: `block_out_channels` (32, 64), one
    /// `CrossAttnDownBlock2D` and one `DownBlock2D` (and the matching `UpBlock2D`,
    /// `CrossAttnUpBlock2D`), one residual block per level, the cross-attention middle block,
    /// `cross_attention_dim` 32, 8 heads, 8 groups.
    ///
    /// - Parameter latentChannels: the VAE's latent channels (in and out).
    public static func small(latentChannels: Int = 4) -> UNet2DConditionConfiguration {
        var c = UNet2DConditionConfiguration()
        c.sampleSize = 16
        c.inChannels = latentChannels
        c.outChannels = latentChannels
        c.downBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"]
        c.upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D"]
        c.blockOutChannels = [32, 64]
        c.layersPerBlock = 1
        c.crossAttentionDimension = 32
        c.attentionHeadDimension = .shared(8)
        c.normNumGroups = 8
        return c
    }
}

/// Trains a (small) `UNet2DConditionModel` for ε-prediction on the latents of a trained VAE,
/// as Stable Diffusion's U-Net was trained:
///
///     loss = mean ‖ε − ε̂(√ᾱ_t z₀ + √(1−ᾱ_t) ε, t, c)‖²,   t ~ U{0, …, 999},  ε ~ N(0, I)
///
/// with z₀ the posterior mean of a random crop times the VAE's scaling factor (``StableDiffusionCodec``),
/// ᾱ from SD v1.4's `scaled_linear` schedule (``DDIMScheduler/addNoise(original:noise:timesteps:)``),
/// and c the constant *null conditioning*: a zero tensor `[1, 1, cross_attention_dim]`. With a
/// zero context the cross-attention layers add only their output bias, so the model is
/// effectively unconditional — what the pretext task needs from SD's empty prompt.
///
/// The VAE is frozen. Seeding, checkpoints, `loss.csv` (`step,loss`) and exact resume work as in
/// ``AutoencoderTrainer``.
public final class UNetTrainer {
    /// The model being trained.
    public let unet: UNet2DConditionModel
    /// The frozen codec producing the latents.
    public let codec: StableDiffusionCodec
    /// The run's settings.
    public let settings: DiffusionTrainingSettings
    /// The training photographs.
    public let crops: TrainingCrops
    /// Where checkpoints and `loss.csv` go.
    public let output: URL
    /// The scheduler whose ᾱ noises the latents (SD v1.4's).
    public let scheduler: DDIMScheduler
    /// The null conditioning `[1, 1, cross_attention_dim]` (zeros).
    public let conditioning: Tensor
    /// The losses of every step so far.
    public private(set) var losses: [TrainingLossRecord] = []
    private var optimizer: Adam
    private var step = 0
    private let checkpoints: TrainingCheckpoints
    private let configurationJSON: String

    /// Prepares a run; the U-Net is initialised from the settings' seed.
    ///
    /// - Parameters:
    ///   - configuration: the U-Net; its channels must equal the VAE's latent channels.
    ///   - vae: the trained VAE, its `scaling_factor` set (see
    ///     ``AutoencoderTrainer/latentScalingFactor(vae:crops:count:cropSize:seed:)``).
    ///   - settings: steps, batch size, crop size, learning rate, checkpoint interval and seed.
    ///   - crops: the photographs' random crops to train on.
    ///   - output: the folder for checkpoints and the loss log.
    public init(configuration: UNet2DConditionConfiguration = .small(), vae: AutoencoderKL, settings: DiffusionTrainingSettings,
                crops: TrainingCrops, output: URL) throws {
        precondition(configuration.inChannels == vae.configuration.latentChannels && configuration.outChannels == vae.configuration.latentChannels,
                     "UNetTrainer: U-Net channels \(configuration.inChannels)/\(configuration.outChannels) differ from the VAE's latent channels \(vae.configuration.latentChannels)")
        let multiple = vae.configuration.downsamplingFactor * (1 << (configuration.levelCount - 1))
        precondition(settings.cropSize % multiple == 0 && settings.cropSize <= crops.smallestSide,
                     "UNetTrainer: crop size \(settings.cropSize) must be a multiple of \(multiple) and at most \(crops.smallestSide)")
        unet = try UNet2DConditionModel(configuration: configuration)
        var generator = RandomGenerator(seed: settings.seed, stream: DiffusionStreams.unetInitialization)
        unet.initializeParameters(using: &generator)
        unet.train()
        vae.setTrainable(false)
        vae.eval()
        codec = StableDiffusionCodec(vae: vae)
        self.settings = settings
        self.crops = crops
        self.output = output
        scheduler = DDIMScheduler(configuration: .stableDiffusionV14)
        conditioning = Tensor(repeating: 0, shape: [1, 1, configuration.crossAttentionDimension])
        optimizer = Adam(learningRate: settings.learningRate)
        checkpoints = TrainingCheckpoints(folder: output, format: "grain-unet-training")
        configurationJSON = try canonicalJSON(["model": canonicalJSON(configuration), "settings": canonicalJSON(settings.resumeIdentity),
                                               "scalingFactor": String(vae.configuration.scalingFactor)])
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    }

    /// The columns of `loss.csv` after `step`.
    public static let lossColumns = ["loss"]

    /// The ε-prediction MSE for scaled latents `[B, C, h, w]`, noise like them and one timestep per sample.
    public func loss(latents: Tensor, noise: Tensor, timesteps: [Int]) throws -> Tensor {
        let noisy = scheduler.addNoise(original: latents, noise: noise, timesteps: timesteps)
        let b = latents.shape[0]
        let context = conditioning.expanded(to: [b] + Array(conditioning.shape.dropFirst()))
        let prediction = try unet(noisy, timesteps: timesteps.map(Float.init), encoderHiddenStates: context)
        return Tensor.mseLoss(prediction, noise)
    }

    /// Trains to ``DiffusionTrainingSettings/steps``, resuming from the newest checkpoint in ``output``.
    ///
    /// - Parameters:
    ///   - stopAfter: stop (after writing a checkpoint) once this many steps are done.
    ///   - progress: called after every step; throw from it (e.g. `CancellationError()`) to stop
    ///     the run: a checkpoint of the steps done is written, then the error propagates, and the
    ///     same call resumes from there.
    /// - Returns: the losses of every step so far (also in `loss.csv`).
    @discardableResult
    public func run(stopAfter: Int? = nil, progress: (DiffusionTrainingProgress) throws -> Void = { _ in }) throws -> [TrainingLossRecord] {
        if let resumed = try checkpoints.resume(model: unet, optimizer: &optimizer, configuration: configurationJSON) {
            (step, losses) = resumed
        }
        let last = min(settings.steps, stopAfter ?? settings.steps)
        let trainingSteps = scheduler.configuration.trainingStepCount
        while step < last {
            var generator = settings.generator(forStep: step, of: DiffusionStreams.unetSteps)
            let images = crops.batch(count: settings.batchSize, size: settings.cropSize, using: &generator)
            let latents = Tensor.withoutGradient { codec.encode(images) }
            let noise = Tensor.randomNormal(latents.shape, using: &generator)
            let timesteps = (0..<settings.batchSize).map { _ in Int.random(in: 0..<trainingSteps, using: &generator) }
            let total = try loss(latents: latents, noise: noise, timesteps: timesteps)
            total.backward()
            var parameters = unet.trainableParameters()
            optimizer.step(&parameters)
            unet.update(parameters)
            step += 1
            losses.append(TrainingLossRecord(step: step, values: [total.item]))
            do {
                try progress(DiffusionTrainingProgress(step: step, totalSteps: settings.steps, loss: total.item))
            } catch {
                try saveCheckpoint()
                throw error
            }
            if step % settings.checkpointInterval == 0 || step == last { try saveCheckpoint() }
        }
        return losses
    }

    private func saveCheckpoint() throws {
        try checkpoints.write(model: unet, optimizer: optimizer, step: step, configuration: configurationJSON, losses: losses)
        try checkpoints.writeLosses(losses, columns: Self.lossColumns)
    }
}
