import Tensor

/// The random streams of the extractor's training, in one place: every generator of
/// ``ExtractorTrainer`` (and `grain train`'s random initialisation) is
/// `RandomGenerator(seed:stream:)` (Tensor's one seed derivation) with a stream from here.
///
/// Under ``TrainingConfiguration/seed``:
///
/// | stream | what it draws |
/// |---|---|
/// | ``extractorInitialization`` (80,000) | the extractor's random initial weights (`grain train` without `--weights`) |
/// | ``heads`` (80,001) | the classification and regression heads' initial weights |
/// | ``epochOrder`` (80,002) | the seed of the sample orders: epoch `e` shuffles with stream `e` under it |
/// | ``trainingCrops`` (80,003) | the ``CropSampler`` seed of the training crops |
/// | ``validationCrops`` (80,004) | the ``CropSampler`` seed of the validation crops |
/// | ``validationSplit`` (80,005) | `grain train`'s split of the photos into training and validation |
///
/// Under a ``CropSampler``'s seed, sample `i` of epoch `e` crops with stream `e · 2³² + i`
/// (``CropSampler/stream(epoch:index:)``). The range 80,000 ..< 90,000 is the extractor's in the
/// table of ranges at `RandomGenerator.derivedSeed(_:stream:)`.
package enum ExtractorStreams {
    /// The stream of the extractor's random initial weights.
    package static let extractorInitialization: UInt64 = 80_000
    /// The stream of the heads' initial weights.
    package static let heads: UInt64 = 80_001
    /// The stream whose derived seed seeds each epoch's sample order (epoch `e`: stream `e` under it).
    package static let epochOrder: UInt64 = 80_002
    /// The stream whose derived seed is the training crops' ``CropSampler/seed``.
    package static let trainingCrops: UInt64 = 80_003
    /// The stream whose derived seed is the validation crops' ``CropSampler/seed``.
    package static let validationCrops: UInt64 = 80_004
    /// The stream of `grain train`'s and `grain finetune`'s split of the samples by photo.
    package static let validationSplit: UInt64 = 80_005
}
