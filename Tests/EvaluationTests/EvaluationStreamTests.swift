import Imaging
import Testing
@testable import Evaluation
import OneClass
import Tensor

/// Evaluation's random streams (`EvaluationStreams`): `grain evaluate` draws its test crops and
/// bias audit under its fit's seed, so they must lie apart from every stream of the fit, and the
/// test crops are the one crop sampler's (`RandomCrops`) drawn from Tensor's one seed derivation.
@Suite struct EvaluationStreamTests {
    @Test func evaluationStreamsLieAboveEveryFitStream() {
        let evaluation = [EvaluationStreams.testCrops, EvaluationStreams.auditBootstrap]
        #expect(evaluation.allSatisfy { (70_000..<80_000).contains($0) } && Set(evaluation).count == 2)
        // The largest compact streams of the fit at its largest supported counts.
        let fit = [FitStreams.selection(member: FitStreams.maximumMemberCount - 1), FitStreams.crops(photo: FitStreams.compactCropPhotoCount - 1),
                   FitStreams.evaluateSplit, FitStreams.calibrationCheckFitSeed(FitStreams.maximumCalibrationCheckSplits - 1)]
        #expect(fit.allSatisfy { $0 < 70_000 })
        #expect(FitStreams.augmentationBase > 80_000 && FitStreams.cropsOverflowBase > 80_000)
    }

    @Test func testCropStreamsAreDistinctPerSourceAndFile() {
        var streams: Set<UInt64> = []
        for source in 0..<60 { for file in 0..<500 { streams.insert(EvaluationStreams.testCrops(source: source, file: file)) } }
        #expect(streams.count == 60 * 500)
    }

    @Test func testCropsAreTheOneSamplersFromTheDerivedSeed() throws {
        let sampling = TestSampling(cropsPerImage: 3, cropSize: 40, seed: 11)
        var generator = RandomGenerator(seed: RandomGenerator.derivedSeed(11, stream: EvaluationStreams.testCrops), stream: 5)
        let expected = try RandomCrops(count: 3, fixedSide: 40).rectangles(width: 120, height: 90, using: &generator)
        #expect(sampling.crops(width: 120, height: 90, stream: 5) == expected.map { Optional($0) })
    }
}
