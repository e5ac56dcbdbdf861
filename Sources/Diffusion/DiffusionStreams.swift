import Tensor

/// The random streams of the small denoiser's training, in one place: every generator of
/// ``AutoencoderTrainer``, ``UNetTrainer`` and ``SmallDenoiserTraining`` is
/// `RandomGenerator(seed:stream:)` (Tensor's one seed derivation) with a stream from here, so the
/// VAE and the U-Net trained under one seed draw different weights and different crops.
///
/// Under ``DiffusionTrainingSettings/seed``:
///
/// | stream | what it draws |
/// |---|---|
/// | ``autoencoderInitialization`` (90,000) | the VAE's initial weights |
/// | ``unetInitialization`` (90,001) | the U-Net's initial weights |
/// | ``latentScaling`` (90,002) | the crops that measure the VAE's latent scaling factor |
/// | ``autoencoderSteps`` (90,003) | the seed of the VAE's steps: step `s` draws from stream `s` under it |
/// | ``unetSteps`` (90,004) | the seed of the U-Net's steps: step `s` draws from stream `s` under it |
///
/// The range 90,000 ..< 100,000 is the denoiser's in the table of ranges at
/// `RandomGenerator.derivedSeed(_:stream:)`, so a program that trains a denoiser, an extractor
/// and a detector under one seed draws each from streams of its own.
///
/// A step's generator depends on the seed, the model and the step alone, so a resumed run draws
/// what an uninterrupted one would.
package enum DiffusionStreams {
    /// The stream of the VAE's initial weights.
    package static let autoencoderInitialization: UInt64 = 90_000
    /// The stream of the U-Net's initial weights.
    package static let unetInitialization: UInt64 = 90_001
    /// The stream of the crops that measure the VAE's latent scaling factor.
    package static let latentScaling: UInt64 = 90_002
    /// The stream whose derived seed seeds the VAE's steps (step `s`: stream `s` under it).
    package static let autoencoderSteps: UInt64 = 90_003
    /// The stream whose derived seed seeds the U-Net's steps (step `s`: stream `s` under it).
    package static let unetSteps: UInt64 = 90_004
}
