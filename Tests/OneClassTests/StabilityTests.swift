import Foundation
import GrainTestSupport
import Imaging
@testable import OneClass
import Testing

/// The optional stability check of a verdict (`Detector.Stability`): one benign re-encode, and
/// `uncertain` with the reason `stability` when the verdict flips.
@Suite("Verdict stability")
struct StabilityTests {
    @Test func theReencodeIsValidatedAndDescribed() throws {
        #expect(throws: DetectorError.self) { try Detector.Stability(jpegQuality: 0) }
        #expect(throws: DetectorError.self) { try Detector.Stability(jpegQuality: 101) }
        #expect(Detector.Stability.default == (try Detector.Stability()))
        #expect(Detector.Stability.default.jpegQuality == 90 && Detector.Stability.default.subsampling == .ratio420)
        #expect(Detector.Stability.default.description == "JPEG q=90, 4:2:0")
        #expect(try Detector.Stability(jpegQuality: 75, subsampling: .ratio444).description == "JPEG q=75, 4:4:4")
        // The re-encode is Imaging's JPEG round trip, nothing else.
        let image = DetectorFixture.syntheticImage(seed: 3)
        let reencoded = try Detector.Stability.default.reencoded(image)
        #expect(reencoded == (try image.jpegRoundTrip(quality: 90, subsampling: .ratio420).image))
        #expect(reencoded != image)
    }

    @Test func aVerdictThatFlipsIsUncertainWithTheReason() throws {
        let detector = try VerdictTests.constructed(calibrationCounts: [1000])
        let stability = Detector.Stability.default
        // Real on the image, generated after the re-encode.
        let flipped = detector.verdict(logLikelihoods: [-1], patchCount: 50, source: nil, reencoded: (stability, [-99]))
        #expect(flipped.decision == .uncertain && flipped.reasons.map(\.code) == ["stability"])
        #expect(flipped.reasons[0].message.hasPrefix("verdict flips under one benign re-encode (JPEG q=90, 4:2:0): real on the image"))
        #expect(flipped.reasons[0].message.contains("generated after it (-99.00)"))
        #expect(flipped.stability == Detector.StabilityCheck(reencode: "JPEG q=90, 4:2:0", logLikelihoods: [-99], decision: .generated, flips: true))
        #expect(flipped.logLikelihoods == [-1] && !flipped.isGenerated)
        // And the other way round.
        let back = detector.verdict(logLikelihoods: [-99], patchCount: 50, source: nil, reencoded: (stability, [-1]))
        #expect(back.decision == .uncertain && back.reasons.map(\.code) == ["stability"] && back.stability?.decision == .real)
        // Outside the domain as well: both reasons.
        let jpeg = try ImageSourceDescription(data: DetectorFixture.syntheticImage(seed: 3, width: 64, height: 64).encoded(as: .jpeg(quality: 90)))
        let both = detector.verdict(logLikelihoods: [-1], patchCount: 50, source: jpeg, reencoded: (stability, [-99]))
        #expect(both.decision == .uncertain && both.reasons.map(\.code) == ["format", "stability"])
        // Two members: the joint rule decides each image; one member flipping the joint decision flips it.
        let pair = try VerdictTests.constructed(calibrationCounts: [1000, 1000])
        let joint = pair.verdict(logLikelihoods: [-1, -2], patchCount: 50, source: nil, reencoded: (stability, [-1, -99]))
        #expect(joint.decision == .uncertain && joint.reasons.map(\.code) == ["stability"])
    }

    @Test func aStableVerdictIsUnchanged() throws {
        let detector = try VerdictTests.constructed(calibrationCounts: [1000])
        let band = try #require(detector.members[0].thresholdReport.band)
        let stability = Detector.Stability.default
        func same(_ score: Double, _ after: Double) {
            let plain = detector.verdict(logLikelihoods: [score], patchCount: 50, source: nil)
            let checked = detector.verdict(logLikelihoods: [score], patchCount: 50, source: nil, reencoded: (stability, [after]))
            #expect(checked.decision == plain.decision && checked.reasons == plain.reasons, "\(score) → \(after)")
            #expect(checked.logLikelihoods == plain.logLikelihoods && checked.stability?.flips == false)
            #expect(checked.stability?.logLikelihoods == [after] && plain.stability == nil)
        }
        same(-1, -2)        // real both times
        same(-99, -98)      // generated both times
        // Moving into or out of the band is not a flip: the band already says what it cannot resolve.
        same(-1, band.threshold)
        same(band.threshold, -99)
        same(band.threshold, -1)
        #expect(detector.verdict(logLikelihoods: [-1], patchCount: 50, source: nil, reencoded: (stability, [band.threshold])).stability?.decision == .uncertain)
    }

    @Test func detectionScoresTheReencodedImageAndIsIdenticalWithoutTheCheck() throws {
        let (detector, images, _) = DetectorFixture.fitted
        let image = DetectorFixture.syntheticImage(seed: 21)
        let plain = try detector.detect(image)
        #expect(plain.stability == nil)
        #expect(try detector.detect(image, stability: nil) == plain)
        let checked = try detector.detect(image, stability: .default)
        // The image's own scores are those without the check (the re-encoded image is scored apart).
        #expect(checked.logLikelihoods == plain.logLikelihoods && checked.patchCount == plain.patchCount)
        let after = try detector.score(image.jpegRoundTrip(quality: 90).image)
        #expect(checked.stability?.logLikelihoods == after && after != plain.logLikelihoods)
        #expect(checked == detector.verdict(logLikelihoods: plain.logLikelihoods, patchCount: plain.patchCount, source: nil,
                                            reencoded: (.default, after)))
        // Off by default: the encoded verdict has no stability field; with it, the field round-trips.
        let plainObject = try JSONSerialization.jsonObject(with: JSONEncoder().encode(plain)) as! [String: Any]
        #expect(plainObject["stability"] == nil)
        #expect(try JSONDecoder().decode(Detector.Verdict.self, from: JSONEncoder().encode(checked)) == checked)
        // Files, one at a time and in a batch, agree.
        let files = Array(images.prefix(3))
        let batch = detector.detect(files: files, stability: .default)
        let batchPlain = detector.detect(files: files)
        for (index, file) in files.enumerated() {
            let one = try detector.detect(contentsOf: file, stability: .default)
            #expect(try batch[index].get() == one)
            #expect(try batchPlain[index].get() == detector.detect(contentsOf: file))
            #expect(try batchPlain[index].get().stability == nil && one.stability != nil)
            #expect(try one.logLikelihoods == batchPlain[index].get().logLikelihoods)
        }
    }
}
