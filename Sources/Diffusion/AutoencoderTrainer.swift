import Foundation
import NN
import Tensor

/// Grain's small VAE configuration for training on a CPU.
extension AutoencoderKLConfiguration {
    /// A small VAE for CPU training: `block_out_channels` (32, 64, 64), one residual block per
    /// level, 4 latent channels, 16 groups: images are downsampled 4× (about 0.6 M parameters).
    public static var small: AutoencoderKLConfiguration {
        var c = AutoencoderKLConfiguration()
        c.blockOutChannels = [32, 64, 64]
        c.downBlockTypes = Array(repeating: "DownEncoderBlock2D", count: 3)
        c.upBlockTypes = Array(repeating: "UpDecoderBlock2D", count: 3)
        c.layersPerBlock = 1
        c.latentChannels = 4
        c.normNumGroups = 16
        c.sampleSize = 32
        c.scalingFactor = 1
        return c
    }
}

/// Trains a (small) `AutoencoderKL` on random crops of photographs, as Stable Diffusion's VAE was
/// trained, without its perceptual and adversarial terms:
///
///     loss = mean |x − D(z)| + β · mean_N KL(q(z|x) ‖ N(0, I)) / (3·H·W),   z ~ q(z|x)
///
/// with images in `[-1, 1]`. This is SD's `LPIPSWithDiscriminator` objective (sum of the L1 error
/// over pixels plus `kl_weight` × the summed KL, both averaged over the batch) divided by the
/// pixel count 3·H·W, with SD's `kl_weight` β = 1e-6 by default: the KL term only keeps the
/// latents from drifting in scale.
///
/// Seeded and resumable: the initial weights come from ``DiffusionTrainingSettings/seed``, each
/// step's crops and posterior noise from the seed and the step number alone. Every
/// ``DiffusionTrainingSettings/checkpointInterval`` steps (and at the end) the weights and Adam's
/// state go to `checkpoint-<step>.safetensors` in the output folder and the per-step losses to
/// `loss.csv` (`step,loss,reconstruction,kl`); ``run(stopAfter:progress:)`` resumes from the newest
/// checkpoint and reaches the same weights as an uninterrupted run (a checkpoint resumes under settings that differ only in `steps`, so a finished run can be extended).
public final class AutoencoderTrainer {
    /// The model being trained.
    public let vae: AutoencoderKL
    /// The run's settings.
    public let settings: DiffusionTrainingSettings
    /// The weight β of the KL term.
    public let klWeight: Float
    /// The training photographs.
    public let crops: TrainingCrops
    /// Where checkpoints and `loss.csv` go.
    public let output: URL
    /// The losses of every step so far.
    public private(set) var losses: [TrainingLossRecord] = []
    private var optimizer: Adam
    private var step = 0
    private let checkpoints: TrainingCheckpoints
    private let configurationJSON: String

    /// Prepares a run; the VAE is initialised from the settings' seed (PyTorch's default
    /// initialisations).
    ///
    /// - Throws: when the configuration is not supported or the output folder cannot be made.
    public init(configuration: AutoencoderKLConfiguration = .small, settings: DiffusionTrainingSettings,
                klWeight: Float = 1e-6, crops: TrainingCrops, output: URL) throws {
        precondition(settings.cropSize % configuration.downsamplingFactor == 0 && settings.cropSize <= crops.smallestSide,
                     "AutoencoderTrainer: crop size \(settings.cropSize) must be a multiple of \(configuration.downsamplingFactor) and at most \(crops.smallestSide)")
        vae = try AutoencoderKL(configuration: configuration)
        var generator = RandomGenerator(seed: settings.seed, stream: DiffusionStreams.autoencoderInitialization)
        vae.initializeParameters(using: &generator)
        vae.train()
        self.settings = settings
        self.klWeight = klWeight
        self.crops = crops
        self.output = output
        optimizer = Adam(learningRate: settings.learningRate)
        checkpoints = TrainingCheckpoints(folder: output, format: "grain-autoencoder-training")
        configurationJSON = try canonicalJSON(["model": canonicalJSON(configuration), "settings": canonicalJSON(settings.resumeIdentity),
                                               "klWeight": String(klWeight)])
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    }

    /// The columns of `loss.csv` after `step`.
    public static let lossColumns = ["loss", "reconstruction", "kl"]

    /// The loss of one batch `[B, 3, S, S]` in `[-1, 1]` with posterior noise `[B, L, S/f, S/f]`:
    /// (total, reconstruction L1, mean KL per image).
    public func loss(images: Tensor, noise: Tensor) throws -> (total: Tensor, reconstruction: Float, kl: Float) {
        let posterior = try vae.encode(images)
        let reconstruction = try vae.decode(posterior.sample(noise: noise))
        let l1 = Tensor.l1Loss(reconstruction, images)
        let kl = posterior.klDivergence().mean()
        let pixels = Float(images.count / images.shape[0])
        return (l1 + kl * (klWeight / pixels), l1.item, kl.item)
    }

    /// Trains to ``DiffusionTrainingSettings/steps``, resuming from the newest checkpoint in
    /// ``output`` if there is one.
    ///
    /// - Parameters:
    ///   - stopAfter: stop (after writing a checkpoint) once this many steps are done.
    ///   - progress: called after every step; throw from it (e.g. `CancellationError()`) to stop
    ///     the run: a checkpoint of the steps done is written, then the error propagates, and the
    ///     same call resumes from there.
    /// - Returns: the losses of every step so far (also in `loss.csv`).
    @discardableResult
    public func run(stopAfter: Int? = nil, progress: (DiffusionTrainingProgress) throws -> Void = { _ in }) throws -> [TrainingLossRecord] {
        if let resumed = try checkpoints.resume(model: vae, optimizer: &optimizer, configuration: configurationJSON) {
            (step, losses) = resumed
        }
        let last = min(settings.steps, stopAfter ?? settings.steps)
        let f = vae.configuration.downsamplingFactor, side = settings.cropSize / f
        while step < last {
            var generator = settings.generator(forStep: step, of: DiffusionStreams.autoencoderSteps)
            let images = crops.batch(count: settings.batchSize, size: settings.cropSize, using: &generator)
            let noise = Tensor.randomNormal([settings.batchSize, vae.configuration.latentChannels, side, side], using: &generator)
            let terms = try loss(images: images, noise: noise)
            terms.total.backward()
            var parameters = vae.trainableParameters()
            optimizer.step(&parameters)
            vae.update(parameters)
            step += 1
            losses.append(TrainingLossRecord(step: step, values: [terms.total.item, terms.reconstruction, terms.kl]))
            do {
                try progress(DiffusionTrainingProgress(step: step, totalSteps: settings.steps, loss: terms.total.item))
            } catch {
                try saveCheckpoint()
                throw error
            }
            if step % settings.checkpointInterval == 0 || step == last { try saveCheckpoint() }
        }
        return losses
    }

    private func saveCheckpoint() throws {
        try checkpoints.write(model: vae, optimizer: optimizer, step: step, configuration: configurationJSON, losses: losses)
        try checkpoints.writeLosses(losses, columns: Self.lossColumns)
    }

    /// The scaling factor Stable Diffusion's recipe gives this VAE: 1 / the standard deviation of
    /// the posterior means of `count` random crops (SD v1 measured 0.18215 this way).
    public static func latentScalingFactor(vae: AutoencoderKL, crops: TrainingCrops, count: Int = 64, cropSize: Int,
                                           seed: UInt64) throws -> Float {
        var generator = RandomGenerator(seed: seed)
        let images = crops.batch(count: count, size: cropSize, using: &generator)
        let means = try Tensor.withoutGradient { try vae.encode(images).mean }
        let values = means.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return Float(1 / variance.squareRoot())
    }
}
