import Foundation
import GrainTestSupport
import Imaging
import NN
@testable import OneClass
import Tensor
import Testing

/// The detector's feature readout (`FeatureReadout`): chosen at fit time, used for fitting,
/// calibration and detection alike, stored in the file; old files read as token 0.
@Suite("Detector readout")
struct DetectorReadoutTests {
    @Test func theReadoutIsUsedForFittingAndDetection() throws {
        let (plain, images, weights) = DetectorFixture.fitted
        #expect(plain.readout == .firstToken && plain.fitSummary?.configuration.readout == .firstToken)
        var configuration = DetectorFixture.configuration
        configuration.readout = .meanOfTokens
        let detector = try Detector.fit(realImages: images, weights: [weights], configuration: configuration)
        #expect(detector.readout == .meanOfTokens && detector.fitSummary?.configuration.readout == .meanOfTokens)
        #expect(detector.thresholds != plain.thresholds)
        let image = DetectorFixture.syntheticImage(seed: 31)
        let tokens = detector.tokenizer.tokens(image)
        let extractor = detector.members[0].extractor
        #expect(detector.features(tokens: tokens)[0].scalars == extractor.features(tokens, readout: .meanOfTokens).scalars)
        #expect(plain.features(tokens: tokens)[0].scalars == plain.members[0].extractor.features(tokens).scalars)
        let expected = try detector.logLikelihoods(features: [extractor.features(tokens, readout: .meanOfTokens)])[0]
        #expect(try detector.score(image) == expected)
    }

    @Test func theReadoutRoundTripsThroughTheFileAndOldFilesReadAsTokenZero() throws {
        let (plain, images, weights) = DetectorFixture.fitted
        var configuration = DetectorFixture.configuration
        configuration.readout = .meanOfTokens
        let detector = try Detector.fit(realImages: images, weights: [weights], configuration: configuration)
        let image = DetectorFixture.syntheticImage(seed: 32)
        try DetectorFixture.withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("mean.detector.safetensors")
            try detector.save(to: url)
            let loaded = try Detector(contentsOf: url)
            #expect(loaded.readout == .meanOfTokens && loaded.fitSummary == detector.fitSummary)
            #expect(try loaded.detect(image) == detector.detect(image))

            // A file written before readouts existed: no "readout" anywhere in its metadata.
            let plainURL = folder.appendingPathComponent("plain.detector.safetensors")
            try plain.save(to: plainURL)
            let file = try SafeTensors(contentsOf: plainURL)
            var object = try JSONSerialization.jsonObject(with: Data(file.metadata[Detector.metadataKey]!.utf8)) as! [String: Any]
            #expect(object["readout"] as? String == "token0")
            object["readout"] = nil
            var fit = object["fit"] as! [String: Any]
            var fitConfiguration = fit["configuration"] as! [String: Any]
            fitConfiguration["readout"] = nil
            fit["configuration"] = fitConfiguration
            object["fit"] = fit
            var metadata = file.metadata
            metadata[Detector.metadataKey] = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            #expect(!metadata[Detector.metadataKey]!.contains("readout"))
            let entries: [(String, SafeTensors.Entry)] = try file.keys.map { key in
                let info = try file.info(named: key)
                return (key, info.dtype == .float64 ? .float64(shape: info.shape, values: try file.doubles(named: key))
                                                   : .float32(try file.tensor(named: key)))
            }
            let old = folder.appendingPathComponent("old.detector.safetensors")
            try SafeTensors.write(entries: entries, metadata: metadata, to: old)
            let oldDetector = try Detector(contentsOf: old)
            #expect(oldDetector.readout == .firstToken && oldDetector.fitSummary?.configuration.readout == .firstToken)
            #expect(try oldDetector.detect(image) == plain.detect(image))

            // An unknown readout name in a file is refused.
            metadata[Detector.metadataKey] = file.metadata[Detector.metadataKey]!.replacingOccurrences(of: #""readout":"token0""#, with: #""readout":"median""#)
            #expect(metadata[Detector.metadataKey]!.contains("median"))
            let bad = folder.appendingPathComponent("bad.detector.safetensors")
            try SafeTensors.write(entries: entries, metadata: metadata, to: bad)
            #expect(throws: DetectorError.self) { try Detector(contentsOf: bad) }
        }
    }
}
