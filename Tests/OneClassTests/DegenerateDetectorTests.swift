import Foundation
import GrainTestSupport
import Imaging
import NN
@testable import OneClass
import Tensor
import Testing

/// Degenerate detectors and fits (issue 17): a mixture whose log-likelihood is not finite gave NaN
/// or −∞ scores that the command line could not print (the row went missing, CSV said `nan`); 20
/// copies of one photo fitted a point model; 12 samples for 6 full components in 528 dimensions,
/// regularisation 0 (log-likelihoods of −1e32) or 1e300 (every image at the threshold) and
/// `--max-iterations 0` all fitted without a word.
@Suite("Degenerate detectors and fits")
struct DegenerateDetectorTests {
    /// The shared fixture detector, saved with every mixture mean at 1e200 and read back: any
    /// feature's squared distance overflows, so every log-likelihood is −∞.
    static func detectorWithOverflowingMeans(in folder: URL) throws -> Detector {
        let url = folder.appendingPathComponent("degenerate.safetensors")
        try DetectorFixture.fitted.detector.save(to: url)
        try rewriteDetectorMeans(at: url, to: 1e200)
        return try Detector(contentsOf: url)
    }

    @Test func aNonFiniteLogLikelihoodIsATypedErrorNeverAScore() throws {
        try DetectorFixture.withTemporaryFolder { folder in
            let detector = try Self.detectorWithOverflowingMeans(in: folder)
            let feature = Tensor(repeating: 0.5, shape: [1, LowLevelFeatureExtractor.featureDimension])
            #expect(try DetectorFixture.fitted.detector.logLikelihoods(features: [feature], path: "x.png")[0].allSatisfy(\.isFinite))
            do {
                _ = try detector.logLikelihoods(features: [feature], path: "x.png")
                Issue.record("a −∞ log-likelihood was returned as a score")
            } catch let DetectorError.nonFiniteScore(path, member, value) {
                #expect(path == "x.png" && member == 0 && value == -.infinity)
            }
            // The batch reports it per file, with the file's path, and goes on.
            let files = Array(DetectorFixture.fitted.images.prefix(3))
            let results = detector.detect(files: files)
            #expect(results.count == 3)
            for (file, result) in zip(files, results) {
                guard case let .failure(error) = result, case let .nonFiniteScore(path, _, _) = error else {
                    Issue.record("\(file.lastPathComponent): \(result)")
                    continue
                }
                #expect(path == file.path && error.description.contains("is not finite (-inf)"))
            }
            #expect(detector.score(files: files).allSatisfy { if case .failure = $0 { true } else { false } })
        }
    }

    @Test func regularisationOutOfRangeAndZeroIterationsAreRefused() throws {
        func refused(_ change: (inout Detector.FitConfiguration) -> Void, _ expected: String) {
            var configuration = Detector.FitConfiguration(componentCount: 1, covarianceType: .diagonal, regularization: 1e-3)
            change(&configuration)
            do {
                try configuration.validateForFitting(memberCount: 1)
                Issue.record("accepted: \(expected)")
            } catch {
                #expect(error.description.contains(expected), "\(error)")
            }
        }
        refused({ $0.mixture.regularization = 0 }, "mixture regularization 0.0, expected 1e-10 ≤ regularization ≤ 1.0")
        refused({ $0.mixture.regularization = 1e300 }, "mixture regularization 1e+300")
        refused({ $0.mixture.regularization = 2 }, "mixture regularization 2.0")
        refused({ $0.mixture.maxIterations = 0 }, "mixture maxIterations 0, expected ≥ 1")
        refused({
            $0.mixtureChoice = .crossValidated(grid: .init(componentCounts: [1], covarianceTypes: [.diagonal], regularizations: [1e-3, 0]),
                                               folds: 2)
        }, "mixture regularization 0.0")
        for value in [1e-10, 1e-6, 1e-3, 1] {
            var configuration = Detector.FitConfiguration(componentCount: 1, regularization: value)
            configuration.mixture.maxIterations = 1
            #expect(throws: Never.self) { try configuration.validateForFitting(memberCount: 1) }
        }
        // Every fit entry point checks before reading anything: the image and weights paths do not exist.
        var zero = Detector.FitConfiguration(componentCount: 1, covarianceType: .diagonal, regularization: 1e-3)
        zero.mixture.maxIterations = 0
        #expect(throws: DetectorError.invalidConfiguration("mixture maxIterations 0, expected ≥ 1 (0 iterations would keep the unfitted initialisation as the detector's mixture)")) {
            try Detector.fit(realImages: [URL(fileURLWithPath: "/nonexistent/a.png")], weights: [URL(fileURLWithPath: "/nonexistent/w.safetensors")],
                             configuration: zero)
        }
        // Reading a detector file does not apply the fitting checks (files written before them still load).
        var stored = DetectorFixture.configuration
        stored.mixture.maxIterations = 0
        let data = try JSONEncoder().encode(stored)
        #expect(try JSONDecoder().decode(Detector.FitConfiguration.self, from: data) == stored)
    }

    @Test func tooFewSamplesPerComponentAreWarnedInTheSummary() throws {
        let d = LowLevelFeatureExtractor.featureDimension
        var generator = RandomGenerator(seed: 5)
        var features = Detector.FitFeatures(memberCount: 1)
        features.training = [(0..<(12 * d)).map { _ in Float(generator.nextStandardNormal()) }]
        features.trainingGroups = Array(0..<12)
        let extractor = LowLevelFeatureExtractor()
        let provenance = Detector.Provenance(weightsFileName: "w", weightsSHA256: "", parametersSHA256: "")
        let configuration = Detector.FitConfiguration(componentCount: 6, covarianceType: .full, regularization: 1e-3)
        let detector = try Detector.fit(features: features, extractors: [(extractor, provenance)], configuration: configuration)
        let warnings = try #require(detector.fitSummary).warnings
        #expect(warnings.contains { $0.contains("extractor 0's mixture has 6 full components in 528 dimensions fitted on 12 samples (2.0 per component)") },
                "\(warnings)")
        // The thresholds: none for enough samples, and the boundary for each covariance type.
        func warns(_ samples: Int, _ k: Int, _ type: GaussianMixture.CovarianceType) -> Bool {
            Detector.sampleCountWarning(member: 0, sampleCount: samples,
                                        configuration: .init(componentCount: k, covarianceType: type, regularization: 1e-3)) != nil
        }
        #expect(warns(528, 1, .full) && !warns(529, 1, .full) && warns(1056, 2, .full) && !warns(1058, 2, .full))
        #expect(warns(528, 4, .tied) && !warns(529, 4, .tied))
        #expect(warns(11, 6, .diagonal) && !warns(12, 6, .diagonal) && warns(1, 1, .spherical) && !warns(2, 1, .spherical))
    }

    @Test func duplicatePhotosAreWarnedAndOnePhotoCopiedIsRefused() throws {
        try DetectorFixture.withTemporaryFolder { folder in
            let weights = folder.appendingPathComponent("w.safetensors")
            try DetectorFixture.writeRandomWeights(to: weights)
            let extractor = try LowLevelFeatureExtractor(contentsOf: weights)
            let distinct = try DetectorFixture.writeSyntheticImages(count: 4, in: folder)
            // Three byte-identical copies of the first photo under other names.
            var copies: [URL] = []
            for index in 0..<3 {
                let copy = folder.appendingPathComponent("copy\(index).png")
                try FileManager.default.copyItem(at: distinct[0], to: copy)
                copies.append(copy)
            }
            let configuration = Detector.FitConfiguration(componentCount: 1, covarianceType: .diagonal, regularization: 1e-3,
                                                          crops: RandomCrops(count: 2, size: 32))
            let features = try Detector.fitFeatures(realImages: distinct + copies, extractors: [extractor], configuration: configuration)
            #expect(features.warnings.count == 1)
            let warning = try #require(features.warnings.first)
            #expect(warning.contains("3 of the 7 photos are pixel-identical copies of another (\(copies[0].path) = \(distinct[0].path)"), "\(warning)")
            #expect(warning.contains("see 4 distinct photos"))
            let provenance = Detector.Provenance(weightsFileName: "w", weightsSHA256: "", parametersSHA256: "")
            let detector = try Detector.fit(features: features, extractors: [(extractor, provenance)], configuration: configuration)
            #expect(try #require(detector.fitSummary).warnings.contains(warning))
            // Distinct photos: no warning.
            #expect(try Detector.fitFeatures(realImages: distinct, extractors: [extractor], configuration: configuration).warnings.isEmpty)
            // Twenty copies of one photo (the issue's case, here four): refused, naming the photo.
            do {
                _ = try Detector.fitFeatures(realImages: [distinct[0]] + copies, extractors: [extractor], configuration: configuration)
                Issue.record("a fit on copies of one photo was accepted")
            } catch let DetectorError.notEnoughImages(message) {
                #expect(message.contains("all 4 training photos are pixel-identical copies of \(distinct[0].path)"), "\(message)")
            }
        }
    }
}
