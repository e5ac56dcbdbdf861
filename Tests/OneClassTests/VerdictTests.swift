import Foundation
import GrainTestSupport
import Imaging
import NN
@testable import OneClass
import Tensor
import Testing

/// Multi-crop scoring, the domain record, augmentation in fit, and the three-way verdict.
@Suite("Verdicts")
struct VerdictTests {
    // MARK: - Scoring

    @Test func scoringIsValidatedAndAggregatesAsDocumented() throws {
        #expect(throws: DetectorError.self) { try Detector.Scoring(cropCount: -1) }
        #expect(throws: DetectorError.self) { try Detector.Scoring(cropCount: 257) }
        #expect(throws: DetectorError.self) { try Detector.Scoring(cropCount: 4, cropSize: 40) }
        #expect(throws: DetectorError.self) { try Detector.Scoring(cropCount: 4, cropSize: 0) }
        let bad = Data(#"{"cropCount": 4, "cropSize": 24, "aggregation": "mean"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Detector.Scoring.self, from: bad) }
        let values = [3.0, -1.0, 2.0, 10.0]
        #expect(try Detector.Scoring(cropCount: 4, aggregation: .mean).aggregate(values) == 3.5)
        #expect(try Detector.Scoring(cropCount: 4, aggregation: .median).aggregate(values) == 2.5)
        #expect(try Detector.Scoring(cropCount: 3, aggregation: .median).aggregate([3, -1, 2]) == 2)
        #expect(try Detector.Scoring(cropCount: 4, aggregation: .minimum).aggregate(values) == -1)
        #expect(Detector.Scoring.wholeImage.aggregate([7]) == 7 && Detector.Scoring.wholeImage.aggregate([]).isNaN)
        let perRegion = [[1.0, 10.0], [3.0, 30.0]]
        #expect(try Detector.Scoring(cropCount: 2, aggregation: .minimum).aggregate(regions: perRegion) == [1, 10])
    }

    @Test func cropsLieOnTheImagingGridAndSmallImagesAreScoredWhole() throws {
        let scoring = try Detector.Scoring(cropCount: 4, cropSize: 32)
        #expect(Detector.Scoring.wholeImage.cropOrigins(width: 500, height: 500) == nil)
        #expect(scoring.cropOrigins(width: 31, height: 200) == nil && scoring.cropOrigins(width: 200, height: 31) == nil)
        let origins = try #require(scoring.cropOrigins(width: 96, height: 64))
        let grid = Image.gridCropOrigins(width: 96, height: 64, cropSize: 32, count: 4)
        #expect(origins.map { [$0.x, $0.y] } == grid.map { [$0.x, $0.y] })
        let tokenizer = ImageTokenizer()
        let image = DetectorFixture.syntheticImage(seed: 1, width: 96, height: 64)
        #expect(scoring.tokens(of: image, tokenizer: tokenizer).shape == [4, 4, 3, 16, 16])
        // The regions are the crops themselves.
        let third = tokenizer.tokens(image.cropped(x: origins[2].x, y: origins[2].y, width: 32, height: 32))
        #expect(scoring.tokens(of: image, tokenizer: tokenizer).sliced(axis: 0, start: 2, end: 3).scalars == third.scalars)
        let small = DetectorFixture.syntheticImage(seed: 2, width: 40, height: 20)
        #expect(scoring.tokens(of: small, tokenizer: tokenizer).shape == tokenizer.tokens(small).shape)
        // Coinciding grid positions are one crop: 40×32 holds a 2 × 2 grid whose two rows coincide,
        // a 32×32 image one crop.
        #expect(try #require(scoring.cropOrigins(width: 40, height: 32)).map { [$0.x, $0.y] } == [[0, 0], [8, 0]])
        #expect(try #require(scoring.cropOrigins(width: 32, height: 32)).map { [$0.x, $0.y] } == [[0, 0]])
        let square = DetectorFixture.syntheticImage(seed: 3, width: 32, height: 32)
        #expect(scoring.tokens(of: square, tokenizer: tokenizer).shape == [1, 4, 3, 16, 16])
    }

    @Test func multiCropDetectionAggregatesItsCropsScores() throws {
        let fitted = DetectorFixture.fitted.detector
        let whole = Detector(members: fitted.members, tokenizer: fitted.tokenizer)
        let image = DetectorFixture.syntheticImage(seed: 5, width: 96, height: 96)
        for aggregation in Detector.Scoring.Aggregation.allCases {
            let scoring = try Detector.Scoring(cropCount: 4, cropSize: 48, aggregation: aggregation)
            let detector = Detector(members: fitted.members, tokenizer: fitted.tokenizer, scoring: scoring)
            let verdict = try detector.detect(image)
            let perCrop = try #require(verdict.perCropLogLikelihoods)
            #expect(perCrop.count == 4 && verdict.logLikelihoods == scoring.aggregate(regions: perCrop))
            // Each crop's score is that crop's whole-image score (to float32 rounding: the crops go
            // through the extractor as one batch).
            for (index, origin) in try #require(scoring.cropOrigins(width: 96, height: 96)).enumerated() {
                let alone = try whole.score(image.cropped(x: origin.x, y: origin.y, width: 48, height: 48))[0]
                #expect(abs(alone - perCrop[index][0]) <= 1e-5 * max(1, abs(alone)))
            }
            #expect(try detector.score(image) == verdict.logLikelihoods)
        }
        let one = try Detector(members: fitted.members, tokenizer: fitted.tokenizer, scoring: .init(cropCount: 1, cropSize: 48)).detect(image)
        #expect(one.perCropLogLikelihoods == nil)
    }

    /// Calibration photos are scored as detection scores them: with crops and the minimum, the
    /// calibrated threshold is the documented order statistic of the detection scores.
    @Test func calibrationScoresPhotosExactlyAsDetectionDoes() throws {
        try DetectorFixture.withTemporaryFolder { folder in
            let weights = folder.appendingPathComponent("random.safetensors")
            try DetectorFixture.writeRandomWeights(to: weights)
            let images = try (0..<12).map { index -> URL in
                let url = folder.appendingPathComponent(String(format: "photo%02d.png", index))
                try DetectorFixture.syntheticImage(seed: 300 &+ UInt64(index), width: 64, height: 64).write(to: url)
                return url
            }
            var configuration = DetectorFixture.configuration
            configuration.scoring = try Detector.Scoring(cropCount: 4, cropSize: 32, aggregation: .minimum)
            let detector = try Detector.fit(realImages: images, weights: [weights], configuration: configuration)
            #expect(detector.scoring == configuration.scoring)
            let held = try Detector.calibrationSplit(count: images.count, configuration: configuration)
            let scores = try zip(images, held).filter(\.1).map { try detector.detect(contentsOf: $0.0).logLikelihoods[0] }.sorted()
            let calibration = try #require(detector.members[0].thresholdReport.calibration)
            let expected = scores[Int((Double(scores.count) * calibration.targetFalsePositiveRate).rounded(.down))]
            #expect(abs(detector.thresholds[0] - expected) <= 1e-9 * max(1, abs(expected)))
            // Whole-image scores would have given another threshold.
            let whole = Detector(members: detector.members, tokenizer: detector.tokenizer)
            let wholeScores = try zip(images, held).filter(\.1).map { try whole.score(contentsOf: $0.0)[0] }.sorted()
            #expect(abs(wholeScores[0] - expected) > 1e-6)
        }
    }

    // MARK: - Domain and file compatibility

    @Test func domainIsRecordedAndRoundTripsThroughTheFile() throws {
        let (detector, _, _) = DetectorFixture.fitted
        let domain = try #require(detector.fitSummary?.domain)
        // Every fit and calibration photo: 12 synthetic 48×48 RGB PNGs, 9 patches each.
        #expect(domain.imageCount == 12 && domain.formats == ["png": 12] && domain.bitDepths == ["8": 12])
        #expect(domain.componentCounts == ["3": 12] && domain.jpegQualities == nil)
        #expect(domain.patchCounts.minimum == 9 && domain.patchCounts.maximum == 9 && domain.widths.median == 48)
        let band = try #require(detector.members[0].thresholdReport.band)
        #expect(band.threshold == detector.thresholds[0] && band.calibrationCount == 3)
        try DetectorFixture.withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("detector.safetensors")
            try detector.save(to: url)
            let loaded = try Detector(contentsOf: url)
            #expect(loaded.fitSummary?.domain == domain && loaded.members[0].thresholdReport.band == band)
            #expect(loaded.scoring == .wholeImage)
            let crops = Detector(members: detector.members, tokenizer: detector.tokenizer,
                                 scoring: try .init(cropCount: 8, cropSize: 64, aggregation: .median), fitSummary: detector.fitSummary)
            try crops.save(to: url)
            #expect(try Detector(contentsOf: url).scoring == crops.scoring)
        }
    }

    @Test func recordsWrittenBeforeTheseFieldsReadWithTheirDefaults() throws {
        let summary = try #require(DetectorFixture.fitted.detector.fitSummary)
        func withoutKeys(_ value: some Encodable, _ keys: [String], nested: String? = nil) throws -> Data {
            var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as! [String: Any]
            if let nested {
                var inner = object[nested] as! [String: Any]
                for key in keys { inner[key] = nil }
                object[nested] = inner
            } else {
                for key in keys { object[key] = nil }
            }
            return try JSONSerialization.data(withJSONObject: object)
        }
        let old = try JSONDecoder().decode(Detector.FitSummary.self, from: withoutKeys(summary, ["domain"]))
        #expect(old.domain == nil && summary.domain != nil)
        let oldConfiguration = try JSONDecoder().decode(Detector.FitConfiguration.self,
                                                        from: withoutKeys(summary.configuration, ["scoring", "augmentation"]))
        #expect(oldConfiguration.scoring == .wholeImage && oldConfiguration.augmentation == nil)
        let report = DetectorFixture.fitted.detector.members[0].thresholdReport
        #expect(try JSONDecoder().decode(Detector.ThresholdReport.self, from: withoutKeys(report, ["band"])).band == nil)
        // An old verdict reads with the joint rule's decision.
        let verdict = Detector.Verdict(logLikelihoods: [-5], thresholds: [-4], patchCount: 2)
        let oldVerdict = try JSONDecoder().decode(Detector.Verdict.self, from: withoutKeys(verdict, ["decision", "reasons"]))
        #expect(oldVerdict.decision == .generated && oldVerdict.reasons.isEmpty)
    }

    // MARK: - Augmentation in fit

    @Test func augmentationTransformsFitAndCalibrationPhotosSeededPerPhoto() throws {
        let (plain, images, weights) = DetectorFixture.fitted
        var configuration = DetectorFixture.configuration
        configuration.augmentation = try ImageAugmentation(parsing: "jpeg:50-60")
        let detector = try Detector.fit(realImages: images, weights: [weights], configuration: configuration)
        let domain = try #require(detector.fitSummary?.domain)
        // All 12 photos, the 3 calibration photos included, became JPEGs at the drawn qualities.
        #expect(domain.formats == ["jpeg": 12] && domain.standardJPEGCount == 12)
        let expectedQualities = (0..<images.count).map { index -> Int in
            var generator = RandomGenerator(seed: configuration.seed, stream: FitStreams.augmentation(photo: index))
            return configuration.augmentation!.plan(using: &generator).jpegQuality!
        }
        #expect(domain.jpegQualities?.minimum == expectedQualities.min() && domain.jpegQualities?.maximum == expectedQualities.max())
        #expect((50...60).contains(domain.jpegQualities!.minimum) && (50...60).contains(domain.jpegQualities!.maximum))
        #expect(detector.thresholds != plain.thresholds)
        #expect(detector.fitSummary?.configuration.augmentation == configuration.augmentation)
        // Reproducible from the seed.
        let again = try Detector.fit(realImages: images, weights: [weights], configuration: configuration)
        #expect(again.thresholds == detector.thresholds && again.fitSummary == detector.fitSummary)
        // An impossible augmentation is refused before anything is read.
        var impossible = ImageAugmentation.none
        impossible.jpegMinimumQuality = 0
        configuration.augmentation = impossible
        #expect(throws: DetectorError.self) { try Detector.fit(realImages: images, weights: [weights], configuration: configuration) }
    }

    // MARK: - The three-way verdict

    /// A detector whose members have hand-made bands and whose domain is 8-bit RGB PNGs of
    /// 40…60 patches.
    static func constructed(calibrationCounts: [Int], target: Double = 0.1) throws -> Detector {
        let base = DetectorFixture.fitted.detector.members[0]
        let members = try calibrationCounts.map { count -> Detector.Member in
            let scores = (0..<count).map { -100 + 100 * (Double($0) + 0.5) / Double(count) }   // −100…0, evenly
            let calibration = CalibratedThreshold(calibrationLogLikelihoods: scores, targetFalsePositiveRate: target)
            let band = try UncertaintyBand(calibration: calibration, calibrationLogLikelihoods: scores)
            let report = Detector.ThresholdReport(rule: .calibrated, rate: 0.0005, authorsThreshold: -200, trainingSampleCount: 10,
                                                  calibration: calibration, band: band)
            return Detector.Member(extractor: base.extractor, mixture: base.mixture, threshold: calibration.threshold,
                                   provenance: base.provenance, thresholdReport: report)
        }
        let png = try ImageSourceDescription(data: DetectorFixture.syntheticImage(seed: 1, width: 112, height: 96).encoded(as: .png))
        let domain = try DetectorDomain(images: [(png, 40), (png, 60)])
        let summary = Detector.FitSummary(configuration: DetectorFixture.configuration, trainingImageCount: 2, trainingSampleCount: 2,
                                          calibrationImageCount: calibrationCounts[0], skipped: [], jointCalibration: nil, domain: domain)
        return Detector(members: members, fitSummary: summary)
    }

    @Test func verdictIsRealGeneratedOrUncertainByTheDocumentedRule() throws {
        let detector = try Self.constructed(calibrationCounts: [1000])
        let band = try #require(detector.members[0].thresholdReport.band)
        let inside = try ImageSourceDescription(data: DetectorFixture.syntheticImage(seed: 2, width: 64, height: 64).encoded(as: .png))
        func verdict(_ score: Double, source: ImageSourceDescription? = nil, patches: Int = 50) -> Detector.Verdict {
            detector.verdict(logLikelihoods: [score], patchCount: patches, source: source ?? inside)
        }
        // Far above and far below the band: decided, no reasons, agreeing with isGenerated.
        #expect(verdict(-1).decision == .real && verdict(-1).reasons.isEmpty && !verdict(-1).isGenerated)
        #expect(verdict(-99).decision == .generated && verdict(-99).reasons.isEmpty && verdict(-99).isGenerated)
        // At the threshold and just past either edge of the band.
        let atThreshold = verdict(band.threshold)
        #expect(atThreshold.decision == .uncertain && atThreshold.reasons.map(\.code) == ["threshold-band"] && !atThreshold.isGenerated)
        #expect(verdict(band.realAbove).decision == .uncertain && verdict(band.realAbove.nextUp).decision == .real)
        let lower = try #require(band.generatedAtOrBelow)
        #expect(verdict(lower).decision == .generated && verdict(lower.nextUp).decision == .uncertain)
        #expect(verdict(.nan).decision == .uncertain)
        // Outside the domain: uncertain whatever the score, with the domain's reasons.
        let jpeg = try ImageSourceDescription(data: DetectorFixture.syntheticImage(seed: 3, width: 64, height: 64).encoded(as: .jpeg(quality: 90)))
        let format = verdict(-1, source: jpeg)
        #expect(format.decision == .uncertain && format.reasons.map(\.code) == ["format"])
        #expect(format.reasons[0].message == "format jpeg never seen in fit (fitted: png)")
        let tiny = verdict(-99, patches: 1)
        #expect(tiny.decision == .uncertain && tiny.reasons.map(\.code) == ["patch-count"] && tiny.isGenerated)
        var grey = inside
        grey.header.components = 1
        #expect(verdict(-1, source: grey).reasons.map(\.code) == ["components"])
        var deep = inside
        deep.header.bitDepth = 16
        #expect(verdict(-1, source: deep).reasons.map(\.code) == ["bit-depth"])
        // Both kinds of reason at once; no source: no domain check.
        #expect(verdict(band.threshold, patches: 500).reasons.map(\.code) == ["patch-count", "threshold-band"])
        #expect(detector.verdict(logLikelihoods: [-1], patchCount: 1).decision == .real)
    }

    @Test func membersCombineUnderTheJointRule() throws {
        let detector = try Self.constructed(calibrationCounts: [1000, 1000])
        let band = try #require(detector.members[0].thresholdReport.band)
        // One member decisively generated: generated, whatever the other says.
        let generated = detector.verdict(logLikelihoods: [-99, band.threshold], patchCount: 50, source: nil)
        #expect(generated.decision == .generated && generated.reasons.isEmpty)
        // One member in its band, the other clear: uncertain, naming the member.
        let uncertain = detector.verdict(logLikelihoods: [-1, band.threshold], patchCount: 50, source: nil)
        #expect(uncertain.decision == .uncertain && uncertain.reasons.count == 1)
        #expect(uncertain.reasons[0].message.hasPrefix("extractor 1's log-likelihood"))
        #expect(detector.verdict(logLikelihoods: [-1, -2], patchCount: 50, source: nil).decision == .real)
    }

    @Test func aCalibrationTooSmallForTheTargetNeverCallsAnImageGenerated() throws {
        // 5 photos at a 10 % target: ⌊5 · 0.1⌋ = 0 flagged, so no score is below the band.
        let detector = try Self.constructed(calibrationCounts: [5])
        #expect(detector.members[0].thresholdReport.band?.canDecideGenerated == false)
        let low = detector.verdict(logLikelihoods: [-1e6], patchCount: 50, source: nil)
        #expect(low.decision == .uncertain && low.isGenerated)
        #expect(low.reasons.first?.message.contains("no image can be called generated") == true)
    }

    @Test func filesOutsideTheDomainAreUncertainWithTheirReason() throws {
        let detector = DetectorFixture.fitted.detector
        try DetectorFixture.withTemporaryFolder { folder in
            func write(_ name: String, _ data: Data) throws -> URL {
                let url = folder.appendingPathComponent(name)
                try data.write(to: url)
                return url
            }
            let image = DetectorFixture.syntheticImage(seed: 77)
            let greyPixels = stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] }
            let files = [
                try write("tiny.png", Image(width: 8, height: 8, channels: 3, pixels: Array(image.pixels.prefix(192))).encoded(as: .png)),
                try write("grey.png", Image(width: 48, height: 48, channels: 1, pixels: greyPixels).encoded(as: .png)),
                try write("photo.jpg", image.encoded(as: .jpeg(quality: 90))),
                URL(fileURLWithPath: fixturesDirectory()).appendingPathComponent("bad-input/rgb16.png"),
            ]
            let expected = [["patch-count"], ["components"], ["format"], ["bit-depth"]]
            for (file, codes) in zip(files, expected) {
                let verdict = try detector.detect(contentsOf: file)
                #expect(verdict.decision == .uncertain, "\(file.lastPathComponent)")
                let found = Set(verdict.reasons.map(\.code))
                #expect(codes.allSatisfy(found.contains), "\(file.lastPathComponent): \(verdict.reasons)")
            }
        }
    }
}
