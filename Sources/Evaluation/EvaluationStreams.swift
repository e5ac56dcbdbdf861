import Tensor

/// The random streams of an evaluation, in one place: every generator here is
/// `RandomGenerator(seed:stream:)` (Tensor's one seed derivation) with a stream from this table.
///
/// `grain evaluate` passes its fit's seed to both ``TestSampling`` and ``BiasAudit``, so these
/// streams lie in Evaluation's range 70,000 ..< 80,000 of the table at
/// `RandomGenerator.derivedSeed(_:stream:)`, apart from every stream of the fit (OneClass's
/// `FitStreams`).
///
/// Under the evaluation's seed:
///
/// | stream | what it draws |
/// |---|---|
/// | ``testCrops`` (70,000) | the seed of the test crops: file `f` of source `s` crops with stream ``testCrops(source:file:)`` under it |
/// | ``auditBootstrap`` (70,001) | the seed of the bias audit's bootstrap: setting `i` resamples with stream `i` under it |
package enum EvaluationStreams {
    /// The stream whose derived seed seeds every test crop.
    package static let testCrops: UInt64 = 70_000

    /// The stream whose derived seed seeds the bias audit's bootstrap, one stream per setting.
    package static let auditBootstrap: UInt64 = 70_001

    /// The stream of file `file`'s test crops in source `source` (under ``testCrops``' seed):
    /// `source · 2³² + file`, distinct for every pair with fewer than 2³² files per source.
    package static func testCrops(source: Int, file: Int) -> UInt64 {
        UInt64(source) << 32 | UInt64(UInt32(truncatingIfNeeded: file))
    }
}
