import Tensor

/// The example's own random streams, in one place: each is a stream of `--seed` through
/// Tensor's one seed derivation (`RandomGenerator(seed:stream:)`), in the range
/// 110,000 ..< 120,000 that the table at `RandomGenerator.derivedSeed(_:stream:)` keeps for it,
/// apart from the streams of the denoiser, extractor and detector it trains under the same seed.
enum ExampleStreams {
    /// The shuffle that splits the photos into training, calibration and test photos.
    static let photoSplit: UInt64 = 110_000
    /// The crops of the training photos that the pretext dataset is built from.
    static let pretextCrops: UInt64 = 110_001
    /// The shuffle that holds out a tenth of the pretext photos for validation.
    static let pretextSplit: UInt64 = 110_002
    /// The extractor's random initial weights.
    static let extractorInitialization: UInt64 = 110_003
    /// The crops of the training photos the detector is fitted on.
    static let fitCrops: UInt64 = 110_004
    /// The crops of the calibration photos.
    static let calibrationCrops: UInt64 = 110_005
    /// The crops of the test photos.
    static let testCrops: UInt64 = 110_006
    /// The stream whose derived seed seeds the generated images (image `i`: stream `i` under it).
    static let generated: UInt64 = 110_007
}
