import Tensor

/// The pretext task's image restoration: encode, corrupt to a ``NoiseLevel``, run the level's last k
/// scheduler steps with a ``Denoiser``, decode (DESIGN.md §6).
///
/// Images are `[B, 3, H, W]` in `[0, 1]` (as `Tensor(image)`); they are mapped to `[-1, 1]` before
/// encoding and back (clamped, as diffusers' `VaeImageProcessor.postprocess`) after decoding. With
/// ``PixelSpace`` as the codec the denoiser works on the pixels themselves.
///
/// ```swift
/// let pipeline = RestorationPipeline(codec: PixelSpace(), denoiser: myDenoiser)
/// let restored = try pipeline.restore(images, level: try NoiseLevel(3), seeds: [7, 8]) { step in
///     print("\(step.index + 1)/\(step.stepCount)")
///     return true  // false cancels
/// }
/// ```
///
/// Deterministic: image i's corruption noise (and, for η > 0, each step's noise) comes from
/// `RandomGenerator(seed: seeds[i])` alone, so a result does not depend on how images are batched.
public struct RestorationPipeline<Codec: LatentCodec, Model: Denoiser> {
    /// Maps images to the denoiser's space and back.
    public var codec: Codec
    /// Predicts the noise.
    public var denoiser: Model
    /// The scheduler whose timesteps the levels index (``NoiseLevel/standardScheduler`` by default).
    public var scheduler: any Scheduler
    /// The weight η of the noise added by each step (0, deterministic DDIM, in the paper).
    public var eta: Float

    /// Creates a pipeline.
    ///
    /// - Parameters:
    ///   - codec: the VAE, or ``PixelSpace``.
    ///   - denoiser: the model.
    ///   - scheduler: Stable Diffusion v1.4's DDIM with 50 steps by default.
    ///   - eta: η ≥ 0.
    public init(codec: Codec, denoiser: Model, scheduler: any Scheduler = NoiseLevel.standardScheduler, eta: Float = 0) {
        precondition(eta >= 0 && eta.isFinite, "RestorationPipeline: eta \(eta) must be finite and non-negative")
        self.codec = codec
        self.denoiser = denoiser
        self.scheduler = scheduler
        self.eta = eta
    }

    /// Image heights and widths must be multiples of this: the codec's downsampling factor times the
    /// denoiser's size multiple (64 for Stable Diffusion).
    public var sizeMultiple: Int { codec.downsamplingFactor * denoiser.sizeMultiple }

    /// Checks that `images` are `[B, C, H, W]` with B ≥ 1 and H, W multiples of ``sizeMultiple``.
    public func validate(_ images: Tensor) throws(DiffusionError) {
        let shape = images.shape
        guard shape.count == 4, shape[0] >= 1, shape[1] >= 1 else { throw .invalidImageShape(shape) }
        let multiple = sizeMultiple
        guard shape[2] >= multiple, shape[3] >= multiple, shape[2] % multiple == 0, shape[3] % multiple == 0 else {
            throw .sizeNotMultiple(height: shape[2], width: shape[3], multiple: multiple)
        }
    }

    /// Images `[B, 3, H, W]` in `[0, 1]` to the denoiser's space (`2x − 1`, then the codec).
    public func encode(_ images: Tensor) throws(DiffusionError) -> Tensor {
        try validate(images)
        return Tensor.withoutGradient { codec.encode(images * 2 - 1) }
    }

    /// Samples in the denoiser's space to images in `[0, 1]`: the codec, then `clamp(x/2 + 1/2, 0, 1)`.
    public func decode(_ latents: Tensor) -> Tensor {
        Tensor.withoutGradient { (codec.decode(latents) * 0.5 + 0.5).clamped(min: 0, max: 1) }
    }

    /// Encodes and decodes without noise: the pretext task's class 1 (the VAE reconstruction).
    public func reconstruct(_ images: Tensor) throws(DiffusionError) -> Tensor {
        decode(try encode(images))
    }

    /// The restoration loop of `latents` at `level`, its noise drawn per sample from `seeds`.
    ///
    /// - Parameters:
    ///   - latents: x₀ in the denoiser's space, `[B, C, h, w]`.
    ///   - level: the noise level; the loop runs its last k timesteps.
    ///   - seeds: one per sample.
    public func steps(restoring latents: Tensor, level: NoiseLevel, seeds: [UInt64]) throws(DiffusionError) -> RestorationSteps<Model> {
        guard latents.shape.count == 4, latents.shape[0] >= 1 else { throw .invalidImageShape(latents.shape) }
        guard seeds.count == latents.shape[0] else { throw .seedCountMismatch(seeds: seeds.count, images: latents.shape[0]) }
        var generators = seeds.map { RandomGenerator(seed: $0) }
        let perSample = Array(latents.shape.dropFirst())
        let noise = Tensor.stack(generators.indices.map { Tensor.randomNormal(perSample, using: &generators[$0]) })
        return RestorationSteps(denoiser: denoiser, scheduler: scheduler,
                                corrupted: Tensor.withoutGradient { scheduler.corrupt(latents, level: level, noise: noise) },
                                timesteps: level.timesteps(in: scheduler), eta: eta, generators: generators)
    }

    /// The restoration loop of `latents` at `level` with the corruption noise given (η must be 0).
    ///
    /// - Parameters:
    ///   - latents: x₀, `[B, C, h, w]`.
    ///   - level: the noise level.
    ///   - noise: ε, shaped like `latents`.
    public func steps(restoring latents: Tensor, level: NoiseLevel, noise: Tensor) -> RestorationSteps<Model> {
        precondition(eta == 0, "RestorationPipeline.steps(restoring:level:noise:): eta \(eta) > 0 needs seeds for the step noise")
        return RestorationSteps(denoiser: denoiser, scheduler: scheduler,
                                corrupted: Tensor.withoutGradient { scheduler.corrupt(latents, level: level, noise: noise) },
                                timesteps: level.timesteps(in: scheduler))
    }

    /// Corrupts `images` to `level` and restores them.
    ///
    /// - Parameters:
    ///   - images: `[B, 3, H, W]` in `[0, 1]`, H and W multiples of ``sizeMultiple``.
    ///   - level: the noise level.
    ///   - seeds: one per image.
    ///   - progress: called after each step; return `false` to cancel.
    /// - Returns: the restored images, `[B, 3, H, W]` in `[0, 1]`.
    /// - Throws: ``DiffusionError`` for a bad shape or size, a seed count that is not B, or
    ///   ``DiffusionError/cancelled`` when `progress` returns `false` or the task is cancelled.
    public func restore(_ images: Tensor, level: NoiseLevel, seeds: [UInt64],
                        progress: (RestorationStep) -> Bool = { _ in true }) throws(DiffusionError) -> Tensor {
        var steps = try steps(restoring: try encode(images), level: level, seeds: seeds)
        while let step = steps.next() {
            if !progress(step) || Task.isCancelled { throw .cancelled }
        }
        return decode(steps.sample)
    }
}
