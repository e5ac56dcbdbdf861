import Tensor

extension RestorationPipeline {
    /// The full sampling loop from pure noise: x_T ~ N(0, I) in the denoiser's space, then every
    /// timestep of the scheduler (981, 961, …, 1 for Stable Diffusion's DDIM with 50 steps), as the
    /// loop of diffusers' unconditional pipelines (`DDIMPipeline`, and `StableDiffusionPipeline`
    /// without guidance). DDIM's initial noise scale is 1, so x_T is the noise itself.
    ///
    /// - Parameters:
    ///   - shape: the latent shape of one sample, `[C, h, w]` (for a VAE with f = 8 and 4 latent
    ///     channels, a 512² image is `[4, 64, 64]`).
    ///   - seeds: one per sample; sample i's x_T (and, for η > 0, each step's noise, drawn after
    ///     it) comes from `RandomGenerator(seed: seeds[i])` alone, so a sample does not depend on
    ///     the batch it is in.
    public func steps(generatingShape shape: [Int], seeds: [UInt64]) -> RestorationSteps<Model> {
        precondition(shape.count == 3 && shape.allSatisfy { $0 >= 1 },
                     "RestorationPipeline.steps(generatingShape:seeds:): the shape must be [C, h, w] with positive sizes; got \(shape)")
        precondition(!seeds.isEmpty, "RestorationPipeline.steps(generatingShape:seeds:): at least one seed is needed")
        var generators = seeds.map { RandomGenerator(seed: $0) }
        let noise = Tensor.stack(generators.indices.map { Tensor.randomNormal(shape, using: &generators[$0]) })
        return RestorationSteps(denoiser: denoiser, scheduler: scheduler, corrupted: noise, timesteps: scheduler.timesteps,
                                eta: eta, generators: generators)
    }

    /// Generates images from pure noise with the full sampling loop (``steps(generatingShape:seeds:)``)
    /// and decodes them.
    ///
    /// - Parameters:
    ///   - height: image height, a multiple of ``sizeMultiple``.
    ///   - width: image width, a multiple of ``sizeMultiple``.
    ///   - latentChannels: the channels of the denoiser's space (4 for Stable Diffusion's VAE, 3
    ///     for ``PixelSpace``).
    ///   - seeds: one per image.
    ///   - progress: called after each step; return `false` to cancel.
    /// - Returns: `[B, 3, height, width]` in `[0, 1]`, B = `seeds.count`.
    /// - Throws: ``DiffusionError/sizeNotMultiple(height:width:multiple:)`` for a bad size,
    ///   ``DiffusionError/cancelled`` when `progress` returns `false` or the task is cancelled.
    public func generate(height: Int, width: Int, latentChannels: Int, seeds: [UInt64],
                         progress: (RestorationStep) -> Bool = { _ in true }) throws(DiffusionError) -> Tensor {
        let multiple = sizeMultiple, f = codec.downsamplingFactor
        guard height >= multiple, width >= multiple, height % multiple == 0, width % multiple == 0 else {
            throw .sizeNotMultiple(height: height, width: width, multiple: multiple)
        }
        precondition(latentChannels >= 1, "RestorationPipeline.generate: latent channels \(latentChannels) must be positive")
        var steps = steps(generatingShape: [latentChannels, height / f, width / f], seeds: seeds)
        while let step = steps.next() {
            if !progress(step) || Task.isCancelled { throw .cancelled }
        }
        return decode(steps.sample)
    }
}
