import Testing
import OneClass
import Tensor

/// The random streams of the fit path (`FitStreams`): the first stream of every family keeps
/// its historical value (so single-member results do not move), and the streams drawn under one
/// seed are pairwise distinct — for a 3-member fit, where the earlier `2 + member` (mixture) and
/// `3 + member` (selection) coincided for members 1 and 0, and at the largest supported counts.
@Suite struct FitStreamTests {
    @Test func firstStreamsKeepTheirValues() {
        #expect(FitStreams.calibrationSplit == 1)
        #expect(FitStreams.mixture(member: 0) == 2)
        #expect(FitStreams.selection(member: 0) == 3)
        #expect(FitStreams.crops(photo: 0) == 1_000 && FitStreams.crops(photo: 17) == 1_017)
        #expect(FitStreams.augmentation(photo: 5) == (1 << 40) + 5)
        #expect(FitStreams.evaluateSplit == 40_000)
        #expect(FitStreams.calibrationCheckTestSplit(3) == 50_003)
        #expect(FitStreams.calibrationCheckFitSeed(3) == 60_003)
        #expect(FitStreams.foldAssignment == 9_999)
        #expect(FitStreams.selectionFit(candidate: 2, fold: 1, folds: 5) == 10_011)
        #expect(FitStreams.augmentation(photo: 0) == FitStreams.augmentationBase)
    }

    /// Every stream drawn under the fit's seed by `members` members over `photos` photos, plus
    /// `grain evaluate`'s split and `splits` splits of `grain calibration-check`.
    func fitSeedStreams(members: Int, photos: Int, splits: Int) -> [UInt64] {
        var streams: [UInt64] = [FitStreams.calibrationSplit, FitStreams.evaluateSplit]
        for member in 0..<members { streams += [FitStreams.mixture(member: member), FitStreams.selection(member: member)] }
        for photo in 0..<photos { streams += [FitStreams.crops(photo: photo), FitStreams.augmentation(photo: photo)] }
        for split in 0..<splits { streams += [FitStreams.calibrationCheckTestSplit(split), FitStreams.calibrationCheckFitSeed(split)] }
        return streams
    }

    @Test func streamsOfAThreeMemberFitArePairwiseDistinct() {
        let streams = fitSeedStreams(members: 3, photos: 200, splits: 20)
        #expect(Set(streams).count == streams.count)
        // Under a selection's seed: the fold assignment and every candidate's fold fits.
        var selection: [UInt64] = [FitStreams.foldAssignment]
        for candidate in 0..<6 { for fold in 0..<5 { selection.append(FitStreams.selectionFit(candidate: candidate, fold: fold, folds: 5)) } }
        #expect(Set(selection).count == selection.count)
        // The three members' selection seeds (one namespace each) differ too.
        let seeds = (0..<3).map { RandomGenerator.derivedSeed(42, stream: FitStreams.selection(member: $0)) }
        #expect(Set(seeds).count == 3)
    }

    @Test func streamsStayDistinctAtTheLargestCounts() {
        // All supported members and splits, and photos past the compact crop range.
        let streams = fitSeedStreams(members: FitStreams.maximumMemberCount, photos: FitStreams.compactCropPhotoCount + 2_000,
                                     splits: FitStreams.maximumCalibrationCheckSplits)
        #expect(Set(streams).count == streams.count)
    }

    @Test func tooManyMembersIsATypedError() throws {
        let configuration = Detector.FitConfiguration()
        try configuration.validate(memberCount: FitStreams.maximumMemberCount)
        #expect(throws: DetectorError.self) { try configuration.validate(memberCount: FitStreams.maximumMemberCount + 1) }
    }
}
