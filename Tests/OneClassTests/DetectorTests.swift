import Foundation
import GrainTestSupport
import Imaging
import NN
import OneClass
import Tensor
import Testing

/// The detector end to end on small synthetic images with random extractor weights (always
/// runs), and on a few dev-set photographs with the authors' weights when ../shared has them.
@Suite("Detector")
struct DetectorTests {
    @Test func fitSplitsCropsAndCalibrates() throws {
        let (detector, _, weights) = DetectorFixture.fitted
        let summary = try #require(detector.fitSummary)
        // round(0.25 · 12) = 3 held out; 9 × 2 crops fitted.
        #expect(summary.trainingImageCount == 9 && summary.calibrationImageCount == 3)
        #expect(summary.trainingSampleCount == 18 && summary.skipped.isEmpty)
        #expect(summary.configuration == DetectorFixture.configuration)
        let member = try #require(detector.members.first)
        #expect(detector.members.count == 1)
        #expect(member.mixture.componentCount == 2 && member.mixture.covarianceType == .diagonal)
        let calibration = try #require(member.thresholdReport.calibration)
        #expect(member.thresholdReport.rule == .calibrated && member.threshold == calibration.threshold)
        #expect(calibration.calibrationCount == 3 && calibration.targetFalsePositiveRate == 0.1)
        #expect(member.thresholdReport.trainingSampleCount == 18 && member.thresholdReport.authorsThreshold.isFinite)
        let joint = try #require(summary.jointCalibration)
        #expect(joint.calibrationCount == 3 && joint.falsePositiveCount == calibration.falsePositiveCount)
        #expect(member.provenance.weightsFileName == "random.safetensors")
        #expect(member.provenance.weightsSHA256 == (try SHA256.hexDigest(ofFileAt: weights)))
        #expect(member.provenance.parametersSHA256 == Detector.parametersDigest(of: member.extractor))
    }

    @Test func fitIsReproducibleFromTheSeed() throws {
        let (detector, images, weights) = DetectorFixture.fitted
        let again = try Detector.fit(realImages: images, weights: [weights], configuration: DetectorFixture.configuration)
        #expect(again.thresholds == detector.thresholds)
        #expect(again.members[0].mixture == detector.members[0].mixture)
        #expect(again.fitSummary == detector.fitSummary)
    }

    @Test func saveAndLoadRoundTripExactly() throws {
        let (detector, images, _) = DetectorFixture.fitted
        try DetectorFixture.withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("detector.safetensors")
            try detector.save(to: url)
            let loaded = try Detector(contentsOf: url)
            #expect(loaded.tokenizer == detector.tokenizer && loaded.fitSummary == detector.fitSummary)
            #expect(loaded.thresholds.map(\.bitPattern) == detector.thresholds.map(\.bitPattern))
            let (a, b) = (detector.members[0], loaded.members[0])
            #expect(a.provenance == b.provenance && a.thresholdReport == b.thresholdReport)
            #expect(a.mixture.weights == b.mixture.weights && a.mixture.means == b.mixture.means)
            #expect(a.mixture.precisionsCholesky == b.mixture.precisionsCholesky)
            #expect(a.mixture.configuration == b.mixture.configuration && a.mixture.lowerBoundHistory == b.mixture.lowerBoundHistory)
            #expect(a.mixture.converged == b.mixture.converged && a.mixture.iterationCount == b.mixture.iterationCount)
            guard case let .diagonal(original) = a.mixture.covariances, case let .diagonal(recomputed) = b.mixture.covariances else {
                Issue.record("covariance type changed")
                return
            }
            #expect(original.maximumAbsoluteDifference(to: recomputed) <= 1e-12 * (original.elements.max() ?? 1))
            #expect(a.extractor.stateDictionary().mapValues(\.scalars) == b.extractor.stateDictionary().mapValues(\.scalars))
            for image in images.prefix(3) {
                #expect(try detector.detect(contentsOf: image) == loaded.detect(contentsOf: image))
            }
        }
    }

    @Test func fullCovarianceRoundTripsThroughTheFile() throws {
        // A full (and a tied) mixture over random 528-d features, stored with the fitted extractor.
        let base = DetectorFixture.fitted.detector.members[0]
        var generator = RandomGenerator(seed: 5)
        let features = Tensor.randomNormal([40, 528], using: &generator)
        for type in [GaussianMixture.CovarianceType.full, .tied, .spherical] {
            let mixture = try GaussianMixture(fitting: features, configuration: .init(componentCount: 2, covarianceType: type,
                                                                                     regularization: 1e-2), using: &generator)
            let member = Detector.Member(extractor: base.extractor, mixture: mixture, threshold: -1234.5,
                                         provenance: base.provenance, thresholdReport: base.thresholdReport)
            let detector = Detector(members: [member, member], tokenizer: try ImageTokenizer(cropMode: .authorsCompatible, maximumPatches: 7))
            try DetectorFixture.withTemporaryFolder { folder in
                let url = folder.appendingPathComponent("\(type).safetensors")
                try detector.save(to: url)
                let loaded = try Detector(contentsOf: url)
                #expect(loaded.members.count == 2 && loaded.fitSummary == nil && loaded.tokenizer == detector.tokenizer)
                #expect(loaded.members[1].mixture.precisionsCholesky == mixture.precisionsCholesky)
                #expect(try loaded.members[1].mixture.scoreSamples(features) == mixture.scoreSamples(features))
                #expect(loaded.members[1].mixture.covariances.covarianceType == type)
            }
        }
    }

    @Test func verdictFollowsTheJointRule() {
        let thresholds = [-10.0, -20.0]
        #expect(Detector.Verdict(logLikelihoods: [-10, -20], thresholds: thresholds, patchCount: 1).isReal)
        #expect(Detector.Verdict(logLikelihoods: [-10.5, 0], thresholds: thresholds, patchCount: 1).isGenerated)
        #expect(Detector.Verdict(logLikelihoods: [0, -20.5], thresholds: thresholds, patchCount: 1).isGenerated)
        let detector = DetectorFixture.fitted.detector
        let threshold = detector.thresholds[0]
        #expect(detector.verdict(logLikelihoods: [threshold], patchCount: 3).isReal)
        #expect(detector.verdict(logLikelihoods: [threshold.nextDown], patchCount: 3).isGenerated)
    }

    @Test func batchMatchesSingleCallsAndKeepsOrder() throws {
        let (detector, images, _) = DetectorFixture.fitted
        let files = Array(images.prefix(5))
        let batch = detector.detect(files: files)
        #expect(batch.count == 5)
        for (file, result) in zip(files, batch) {
            #expect(try result.get() == detector.detect(contentsOf: file))
        }
        let scores = detector.score(files: files)
        #expect(scores.map { try? $0.get() } == batch.map { try? $0.get().logLikelihoods })
        var features: [[Tensor]] = []
        detector.features(files: files, lookahead: 1) { _, _, result in features.append(try! result.get()) }
        #expect(try features.map { try detector.logLikelihoods(features: $0)[0] } == scores.map { try $0.get() })

        // A handler that throws stops the batch (the decoder thread is joined) and the error propagates.
        struct Stop: Error {}
        var seen: [Int] = []
        #expect(throws: Stop.self) {
            try detector.detect(files: images, lookahead: 1) { index, _, _ in
                seen.append(index)
                if index == 2 { throw Stop() }
            }
        }
        #expect(seen == [0, 1, 2])
    }

    /// The must-show: a folder of bad files; each gets its own error or a documented conversion,
    /// and the rest of the batch completes.
    @Test func badInputFolderGivesPerFileErrorsAndVerdicts() throws {
        let detector = DetectorFixture.fitted.detector
        try DetectorFixture.withTemporaryFolder { folder in
            let expected = try BadInput.write(in: folder)
            let files: [URL] = ImageFiles.expand([folder.path])
            #expect(files.count == expected.count)
            let results = detector.detect(files: files)
            for (file, result) in zip(files, results) {
                switch (expected[file.lastPathComponent]!, result) {
                case let (.verdict(patches), .success(verdict)):
                    #expect(verdict.patchCount == patches, "\(file.lastPathComponent)")
                    let finite = verdict.logLikelihoods.allSatisfy { $0.isFinite }
                    #expect(finite, "\(file.lastPathComponent)")
                case let (.error(kind), .failure(error)):
                    guard case let .image(imageError) = error else {
                        Issue.record("\(file.lastPathComponent): expected an image error, got \(error)")
                        continue
                    }
                    #expect(imageError.path == file.path && error.path == file.path)
                    #expect(error.description.hasPrefix(file.path))
                    switch (kind, imageError) {
                    case ("pixels", .tooManyPixels(_, 30_000, 30_000, Image.defaultPixelLimit)): break
                    case ("truncated", .truncated), ("empty", .truncated), ("empty", .unsupportedFormat),
                         ("text", .unsupportedFormat), ("corrupt", .corrupt), ("corrupt", .truncated),
                         ("corrupt", .unsupportedFormat):
                        break
                    default: Issue.record("\(file.lastPathComponent): unexpected \(imageError)")
                    }
                default:
                    Issue.record("\(file.lastPathComponent): expected \(expected[file.lastPathComponent]!), got \(result)")
                }
            }
            // Converted inputs equal their RGB versions: RGBA drops alpha, so it scores like the RGB
            // PNG — but the fit never saw an alpha channel, so its verdict is uncertain, saying so.
            let rgba = files.firstIndex { $0.lastPathComponent == "rgba.png" }!
            let png = files.firstIndex { $0.lastPathComponent == "good.png" }!
            #expect(try results[rgba].get().logLikelihoods == results[png].get().logLikelihoods)
            let rgbaVerdict = try results[rgba].get()
            #expect(rgbaVerdict.decision == .uncertain && rgbaVerdict.reasons.map(\.code).contains("components"))
            // Formats, bit depths and sizes the fit (48×48 RGB PNGs) never saw are uncertain, with the reason.
            for (name, code) in [("cmyk.jpg", "format"), ("rgb16.png", "bit-depth"), ("tiny.png", "patch-count"), ("good.jpg", "format")] {
                let verdict = try results[files.firstIndex { $0.lastPathComponent == name }!].get()
                #expect(verdict.decision == .uncertain && verdict.reasons.map(\.code).contains(code), "\(name): \(verdict.reasons)")
            }
        }
    }

    @Test func fitReportsTypedErrors() throws {
        let (_, images, weights) = DetectorFixture.fitted
        // Fewer samples than components.
        var configuration = Detector.FitConfiguration(componentCount: 3, covarianceType: .diagonal)
        #expect(throws: DetectorError.mixture(member: 0, .tooFewSamples(sampleCount: 2, componentCount: 3))) {
            try Detector.fit(realImages: Array(images.prefix(2)), weights: [weights], configuration: configuration)
        }
        // No readable image.
        configuration.mixture.componentCount = 1
        #expect(throws: DetectorError.self) {
            try Detector.fit(realImages: [URL(fileURLWithPath: "/nonexistent/a.png")], weights: [weights], configuration: configuration)
        }
        // Unreadable weights, out-of-range settings.
        #expect(throws: DetectorError.self) {
            try Detector.fit(realImages: images, weights: [URL(fileURLWithPath: "/nonexistent/w.safetensors")])
        }
        configuration.calibration = Detector.Calibration(fraction: 1.5)
        #expect(throws: DetectorError.invalidConfiguration("calibration fraction 1.5, expected 0 < fraction < 1")) {
            try Detector.fit(realImages: images, weights: [weights], configuration: configuration)
        }
        configuration.calibration = nil
        configuration.mixture.regularization = -1
        #expect(throws: DetectorError.self) {
            try Detector.fit(realImages: images, weights: [weights], configuration: configuration)
        }
        #expect(throws: DetectorError.invalidConfiguration("at least one extractor (weights file) is needed")) {
            try Detector.fit(realImages: images, weights: [])
        }
    }

    @Test func fitSkipsUnreadableImagesAndListsThem() throws {
        let (_, images, weights) = DetectorFixture.fitted
        let missing = URL(fileURLWithPath: "/nonexistent/photo.jpg")
        let configuration = Detector.FitConfiguration(componentCount: 1, covarianceType: .spherical)
        let detector = try Detector.fit(realImages: Array(images.prefix(3)) + [missing], weights: [weights], configuration: configuration)
        let summary = try #require(detector.fitSummary)
        #expect(summary.trainingImageCount == 3 && summary.skipped.map(\.path) == [missing.path])
        #expect(summary.skipped[0].reason.contains("cannot read"))
        #expect(detector.members[0].thresholdReport.rule == .authors)
    }

    /// Duplicate points, NaN and too few samples at the mixture level. Identical points have a
    /// zero covariance: the default regularisation (1e-6 on the diagonal) keeps every covariance
    /// type positive definite and the scores finite; with regularisation 0 a full or tied fit
    /// throws ``GaussianMixtureError/covarianceNotPositiveDefinite(component:regularization:)``
    /// (diagonal and spherical ones may keep a rounding-level variance instead).
    @Test func mixtureEdgeCasesAreTypedOrRegularised() throws {
        var generator = RandomGenerator(seed: 3)
        let d = 64
        let point = (0..<d).map { _ in generator.nextStandardNormal() }
        let duplicates = Matrix(rows: 20, columns: d, elements: Array((0..<20).map { _ in point }.joined()))
        for type in GaussianMixture.CovarianceType.allCases {
            let mixture = try GaussianMixture(fitting: duplicates, configuration: .init(componentCount: 2, covarianceType: type),
                                              using: &generator)
            let scores = try mixture.scoreSamples(duplicates)
            #expect(scores.allSatisfy { $0.isFinite }, "\(type)")
        }
        for type in [GaussianMixture.CovarianceType.full, .tied] {
            #expect(throws: GaussianMixtureError.self, "\(type) without regularisation") {
                try GaussianMixture(fitting: duplicates, configuration: .init(componentCount: 1, covarianceType: type, regularization: 0),
                                    using: &generator)
            }
        }
        var withNaN = duplicates.elements
        withNaN[3 * d + 5] = .nan
        #expect(throws: GaussianMixtureError.nonFiniteInput(row: 3, column: 5)) {
            try GaussianMixture(fitting: Matrix(rows: 20, columns: d, elements: withNaN), using: &generator)
        }
        var withInfinity = duplicates.elements
        withInfinity[7] = -.infinity
        #expect(throws: GaussianMixtureError.nonFiniteInput(row: 0, column: 7)) {
            try GaussianMixture(fitting: Matrix(rows: 20, columns: d, elements: withInfinity), using: &generator)
        }
        #expect(throws: GaussianMixtureError.tooFewSamples(sampleCount: 20, componentCount: 21)) {
            try GaussianMixture(fitting: duplicates, configuration: .init(componentCount: 21), using: &generator)
        }
        let detector = DetectorFixture.fitted.detector
        var nanFeature = Tensor(repeating: 0, shape: [1, 528])
        nanFeature.withUnsafeMutableBufferPointer { $0[7] = .nan }
        #expect(throws: DetectorError.nonFiniteFeature(path: "x.png", member: 0)) {
            try detector.logLikelihoods(features: [nanFeature], path: "x.png")
        }
    }

    @Test func loadingRejectsInvalidFilesNamingThem() throws {
        let (detector, _, weights) = DetectorFixture.fitted
        try DetectorFixture.withTemporaryFolder { folder in
            let good = folder.appendingPathComponent("good.safetensors")
            try detector.save(to: good)
            let file = try SafeTensors(contentsOf: good)
            func entries(_ change: (String, SafeTensors.Entry) -> SafeTensors.Entry?) throws -> [(String, SafeTensors.Entry)] {
                try file.keys.compactMap { key in
                    let info = try file.info(named: key)
                    let entry: SafeTensors.Entry = info.dtype == .float64
                        ? .float64(shape: info.shape, values: try file.doubles(named: key)) : .float32(try file.tensor(named: key))
                    return change(key, entry).map { (key, $0) }
                }
            }
            func rewritten(_ name: String, metadata: [String: String]? = nil,
                           _ change: (String, SafeTensors.Entry) -> SafeTensors.Entry? = { $1 }) throws -> URL {
                let url = folder.appendingPathComponent(name)
                try SafeTensors.write(entries: try entries(change), metadata: metadata ?? file.metadata, to: url)
                return url
            }
            func expectInvalid(_ url: URL, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
                do throws(DetectorError) {
                    _ = try Detector(contentsOf: url)
                    Issue.record("\(url.lastPathComponent) loaded", sourceLocation: sourceLocation)
                } catch let .invalidDetectorFile(path, reason) {
                    #expect(path == url.path && reason.contains(text), "\(reason)", sourceLocation: sourceLocation)
                } catch {
                    Issue.record("\(url.lastPathComponent): \(error)", sourceLocation: sourceLocation)
                }
            }
            // A weights file, garbage, a missing file.
            expectInvalid(weights, containing: "no 'grain.detector' metadata")
            let garbage = folder.appendingPathComponent("garbage.safetensors")
            try Data("not a safetensors file".utf8).write(to: garbage)
            expectInvalid(garbage, containing: "garbage.safetensors")
            expectInvalid(folder.appendingPathComponent("missing.safetensors"), containing: "missing.safetensors")
            // A tensor altered after writing: the digest catches it.
            let altered = try rewritten("altered.safetensors") { key, entry in
                guard key == "member0.extractor.fc.bias", case let .float32(tensor) = entry else { return entry }
                return .float32(tensor + 1e-3)
            }
            #expect(throws: DetectorError.self) { try Detector(contentsOf: altered) }
            do throws(DetectorError) { _ = try Detector(contentsOf: altered) } catch {
                guard case .parametersDigestMismatch(altered.path, 0, _, _) = error else {
                    Issue.record("expected a digest mismatch, got \(error)")
                    return
                }
            }
            // Missing, extra and misshapen tensors; non-finite parameters.
            expectInvalid(try rewritten("no-means.safetensors") { key, entry in key.hasSuffix("mixture.means") ? nil : entry },
                          containing: "member0.mixture.means")
            expectInvalid(try rewritten("extra.safetensors") { key, entry in entry }.appendingExtra(), containing: "unexpected tensor")
            expectInvalid(try rewritten("shape.safetensors") { key, entry in
                key.hasSuffix("mixture.weights") ? .float64(shape: [1, 2], values: [0.5, 0.5]) : entry
            }, containing: "shape [1, 2]")
            expectInvalid(try rewritten("nan.safetensors") { key, entry in
                guard key.hasSuffix("mixture.means"), case let .float64(shape, values) = entry else { return entry }
                return .float64(shape: shape, values: [.nan] + values.dropFirst())
            }, containing: "NaN")
            expectInvalid(try rewritten("no-extractor.safetensors") { key, entry in key.contains("extractor.fc.weight") ? nil : entry },
                          containing: "fc.weight")
            // A newer format version.
            var metadata = file.metadata
            metadata[Detector.metadataKey] = metadata[Detector.metadataKey]!.replacingOccurrences(
                of: "\"formatVersion\":\(Detector.formatVersion)", with: "\"formatVersion\":99")
            let future = try rewritten("future.safetensors", metadata: metadata)
            #expect(throws: DetectorError.unsupportedFormatVersion(path: future.path, version: 99)) { try Detector(contentsOf: future) }
            // Values the constructors refuse, written into the file: a patch cap of 0.
            var zeroCap = file.metadata
            zeroCap[Detector.metadataKey] = zeroCap[Detector.metadataKey]!.replacingOccurrences(
                of: "\"maximumPatches\":\(detector.tokenizer.maximumPatches)", with: "\"maximumPatches\":0")
            #expect(zeroCap != file.metadata)
            expectInvalid(try rewritten("zero-cap.safetensors", metadata: zeroCap), containing: "patch cap")
            metadata[Detector.metadataKey] = "{not json"
            expectInvalid(try rewritten("json.safetensors", metadata: metadata), containing: "malformed metadata")
        }
    }

    static let devImagesAvailable = SharedData.exists("data/dev/real") && SharedData.exists("data/dev/fake")
        && SharedData.exists("weights/beyond-generation/basic.safetensors")

    /// The authors' basic weights on 12 dev photographs (one 64-px crop each, at most 16 patches
    /// per image so debug builds stay fast), then a round trip and verdicts on generated images.
    @Test(.enabled(if: devImagesAvailable, "../shared/data/dev or the basic weights are absent: skipped"))
    func devPhotographsWithTheAuthorsWeights() throws {
        let real: [URL] = Array(ImageFiles.expand([SharedData.path("data/dev/real")]).prefix(12))
        let fake: [URL] = ImageFiles.expand([SharedData.path("data/dev/fake")]).enumerated()
            .filter { $0.offset % 40 == 0 }.prefix(3).map(\.element)
        let configuration = Detector.FitConfiguration(
            componentCount: 2, covarianceType: .diagonal, crops: RandomCrops(count: 1, size: 64),
            tokenizer: try ImageTokenizer(maximumPatches: 16), seed: 1)
        let detector = try Detector.fit(realImages: real, weights: [URL(fileURLWithPath: SharedData.path("weights/beyond-generation/basic.safetensors"))],
                                        configuration: configuration)
        #expect(detector.fitSummary?.trainingImageCount == 12 && detector.fitSummary?.skipped == [])
        try DetectorFixture.withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("basic.detector.safetensors")
            try detector.save(to: url)
            let loaded = try Detector(contentsOf: url)
            let expected = detector.detect(files: fake).map { try? $0.get() }
            let actual = loaded.detect(files: fake).map { try? $0.get() }
            #expect(actual == expected && actual.allSatisfy { $0 != nil })
        }
    }
}

private extension URL {
    /// Adds a stray tensor to the detector file at this URL (rewriting it) and returns the URL.
    func appendingExtra() throws -> URL {
        let file = try SafeTensors(contentsOf: self)
        var entries: [(String, SafeTensors.Entry)] = try file.keys.map { key in
            let info = try file.info(named: key)
            return (key, info.dtype == .float64 ? .float64(shape: info.shape, values: try file.doubles(named: key))
                                               : .float32(try file.tensor(named: key)))
        }
        entries.append(("stray", .float32(Tensor([1]))))
        try SafeTensors.write(entries: entries, metadata: file.metadata, to: self)
        return self
    }
}
