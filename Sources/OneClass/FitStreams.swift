import Tensor

/// The random streams of a detector fit, in one place: every generator of the fit path is
/// `RandomGenerator(seed: seed, stream: s)` with `s` from here.
///
/// Streams drawn under the same seed never coincide, for any number of members, photos,
/// candidates or splits: each family has its own range, and the unbounded ones (photos) continue
/// in a range of their own beyond their compact one. The first stream of every family (member 0,
/// photo 0, split 0) keeps the value it has always had, so single-member results do not move.
///
/// Under the fit's seed (``Detector/FitConfiguration/seed``):
///
/// | stream | what it draws | range |
/// |---|---|---|
/// | ``calibrationSplit`` | the calibration photos (``Detector/calibrationSplit(count:configuration:)``) | 1 |
/// | ``mixture(member:)`` | member `m`'s EM initialisation | 2 + 2m: even, 2 ..< 1,000 |
/// | ``selection(member:)`` | the seed of member `m`'s cross-validated mixture choice | 3 + 2m: odd, 3 ..< 1,000 |
/// | ``crops(photo:)`` | photo `i`'s training crops | 1,000 + i below 39,000 photos, then 2⁴¹ + i |
/// | ``evaluateSplit`` | `grain evaluate --fit-fraction`'s fit/test split | 40,000 |
/// | ``calibrationCheckTestSplit(_:)`` | `grain calibration-check`'s test photos of split `s` | 50,000 + s |
/// | ``calibrationCheckFitSeed(_:)`` | the fit seed of `grain calibration-check`'s split `s` | 60,000 + s |
/// | ``augmentation(photo:)`` | photo `i`'s augmentation | 2⁴⁰ + i |
///
/// Under a selection's seed (``selection(member:)``): ``foldAssignment`` (9,999) and
/// ``selectionFit(candidate:fold:folds:)`` (10,000 + candidate · folds + fold).
///
/// `grain evaluate` also draws its test crops and its bias audit under the fit's seed, from
/// Evaluation's streams 70,000 and 70,001 (see the table of ranges at
/// `RandomGenerator.derivedSeed(_:stream:)`), apart from every stream here.
package enum FitStreams {
    /// The stream of the calibration split.
    package static let calibrationSplit: UInt64 = 1

    /// The most members whose mixture and selection streams stay below ``cropsBase``
    /// (``Detector/FitConfiguration/validate(memberCount:)`` refuses more).
    package static let maximumMemberCount = 499

    /// The stream of member `member`'s EM initialisation: `2 + 2·member`.
    package static func mixture(member: Int) -> UInt64 { 2 &+ 2 &* UInt64(member) }

    /// The stream whose derived seed seeds member `member`'s cross-validated mixture selection:
    /// `3 + 2·member`.
    package static func selection(member: Int) -> UInt64 { 3 &+ 2 &* UInt64(member) }

    /// The first crop stream (photo 0's).
    package static let cropsBase: UInt64 = 1_000

    /// The photos whose crop streams are `cropsBase + i`, below ``evaluateSplit``.
    package static let compactCropPhotoCount = 39_000

    /// Where the crop streams of photos from ``compactCropPhotoCount`` on continue: `2⁴¹ + i`,
    /// above every augmentation stream of fewer than 2⁴⁰ photos.
    package static let cropsOverflowBase: UInt64 = 1 << 41

    /// The stream of photo `photo`'s training crops (its index in the fit's photo list).
    package static func crops(photo: Int) -> UInt64 {
        photo < compactCropPhotoCount ? cropsBase &+ UInt64(photo) : cropsOverflowBase &+ UInt64(photo)
    }

    /// The first augmentation stream (photo 0's).
    package static let augmentationBase: UInt64 = 1 << 40

    /// The stream of photo `photo`'s augmentation: `2⁴⁰ + photo`.
    package static func augmentation(photo: Int) -> UInt64 { augmentationBase &+ UInt64(photo) }

    /// The stream of `grain evaluate`'s split of the real photos into fit and test photos.
    package static let evaluateSplit: UInt64 = 40_000

    /// The most splits `grain calibration-check` runs: its two families stay apart below it.
    package static let maximumCalibrationCheckSplits = 10_000

    /// The stream of the test photos of `grain calibration-check`'s split `split`: `50,000 + split`.
    package static func calibrationCheckTestSplit(_ split: Int) -> UInt64 { 50_000 &+ UInt64(split) }

    /// The stream whose derived seed is the fit seed of `grain calibration-check`'s split
    /// `split`: `60,000 + split`.
    package static func calibrationCheckFitSeed(_ split: Int) -> UInt64 { 60_000 &+ UInt64(split) }

    /// The stream of a mixture selection's fold assignment (under the selection's seed).
    package static let foldAssignment: UInt64 = 9_999

    /// The stream of a mixture selection's fit of candidate `candidate` on fold `fold` of
    /// `folds` (under the selection's seed): `10,000 + candidate · folds + fold`.
    package static func selectionFit(candidate: Int, fold: Int, folds: Int) -> UInt64 {
        10_000 &+ UInt64(candidate &* folds &+ fold)
    }
}
