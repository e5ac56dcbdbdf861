import Foundation
import Imaging
import Evaluation
import OneClass
import Tensor
import Testing

@Suite("Evaluation: test samples under perturbations, scores, joint margin")
struct EvaluationTests {
    /// Writes `count` random RGB PNGs of the given size and one corrupt file into a fresh folder.
    static func folder(count: Int, width: Int, height: Int, seed: UInt64) throws -> (URL, [URL]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grain-evaluation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var generator = RandomGenerator(seed: seed)
        var files: [URL] = []
        for index in 0..<count {
            let pixels = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let url = directory.appendingPathComponent("image\(index).png")
            try Image(width: width, height: height, channels: 3, pixels: pixels).write(to: url, as: .png)
            files.append(url)
        }
        let corrupt = directory.appendingPathComponent("corrupt.png")
        try Data("not a png".utf8).write(to: corrupt)
        return (directory, files + [corrupt])
    }

    /// A stand-in extractor: two "members", each a 3-d feature (mean of each channel, and size).
    static func extract(_ image: Image) -> [[Float]] {
        var sums = [Float](repeating: 0, count: 3)
        for (index, value) in image.pixels.enumerated() { sums[index % 3] += Float(value) }
        let means = sums.map { $0 / Float(image.pixelCount) }
        return [means, [Float(image.width), Float(image.height), means[0]]]
    }

    @Test("crops: seeded, inside the image, whole image when small")
    func sampling() {
        let sampling = TestSampling(cropsPerImage: 4, cropSize: 32, seed: 9)
        let crops = sampling.crops(width: 100, height: 40, stream: 3)
        #expect(crops.count == 4 && crops == sampling.crops(width: 100, height: 40, stream: 3))
        #expect(crops != sampling.crops(width: 100, height: 40, stream: 4))
        for crop in crops.compactMap({ $0 }) {
            #expect(crop.width == 32 && crop.height == 32 && crop.x + 32 <= 100 && crop.y + 32 <= 40)
        }
        #expect(sampling.crops(width: 32, height: 20, stream: 0) == [nil])
        #expect(TestSampling.wholeImages.crops(width: 1000, height: 1000, stream: 0) == [nil])
        // A wide image taller than nothing: crops clip to the height.
        #expect(sampling.crops(width: 100, height: 20, stream: 1).allSatisfy { $0?.height == 20 })
    }

    @Test("sampling: out-of-range values from a file or a user give typed errors")
    func samplingValidation() throws {
        #expect(throws: TestSamplingError.negativeCropCount(-1)) { try TestSampling.validate(cropsPerImage: -1, cropSize: 64) }
        #expect(throws: TestSamplingError.nonPositiveCropSize(0)) { try TestSampling.validate(cropsPerImage: 2, cropSize: 0) }
        #expect(throws: TestSamplingError.nonPositiveCropSize(0)) {
            _ = try JSONDecoder().decode(TestSampling.self, from: Data(#"{"cropsPerImage": 2, "cropSize": 0, "seed": 1}"#.utf8))
        }
        let good = TestSampling(cropsPerImage: 2, cropSize: 32, seed: 1)
        #expect(try JSONDecoder().decode(TestSampling.self, from: try JSONEncoder().encode(good)) == good)
    }

    @Test("features: every sample under every setting; unreadable files listed, the rest scored")
    func features() throws {
        let (directory, files) = try Self.folder(count: 3, width: 48, height: 40, seed: 1)
        defer { try? FileManager.default.removeItem(at: directory) }
        let settings: [ImagePerturbation] = [.original, .jpeg(quality: 70), .downscale(factor: 0.5)]
        var calls = 0
        let result = Evaluation.features(files: files, perturbations: settings, sampling: TestSampling(cropsPerImage: 2, cropSize: 32, seed: 1),
                                         memberCount: 2, extract: Self.extract, progress: { calls += 1 })
        #expect(calls == 4)
        #expect(result.failures.keys.map { ($0 as NSString).lastPathComponent } == ["corrupt.png"])
        #expect(result.settings.count == 3)
        for setting in result.settings {
            #expect(setting.count == 6 && setting.rows.count == 2 && setting.rows[1].count == 6)
            #expect(setting.names[0].hasSuffix(",32x32") && setting.names[0].contains("image0.png#"))
        }
        // Same samples in every setting; the perturbation changes the pixels.
        #expect(result.settings[0].names == result.settings[2].names)
        #expect(result.settings[0].rows[1][0][0] == 32 && result.settings[2].rows[1][0][0] == 16)
        #expect(result.settings[0].rows[0][0] != result.settings[1].rows[0][0])
    }

    @Test("features by region: a multi-region sample is one row per region, folded back into one score per image")
    func regionsAreAggregatedPerImage() throws {
        let (directory, files) = try Self.folder(count: 2, width: 48, height: 40, seed: 2)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Images wider than 40 px are scored as two regions (their halves), others whole.
        let result = Evaluation.features(files: files, perturbations: [.original, .downscale(factor: 0.5)], sampling: .wholeImages,
                                         memberCount: 1, extractRegions: { image in
            image.width > 40 ? [[[Float(image.width), 0]], [[Float(image.width), 1]]] : [[[Float(image.width), 0]]]
        })
        let original = result.settings[0], downscaled = result.settings[1]
        #expect(original.count == 4 && downscaled.count == 2)
        #expect(original.names[0].hasSuffix("image0.png#region0") && original.names[1].hasSuffix("image0.png#region1"))
        #expect(!downscaled.names[0].contains("#region"))
        let scoring = try Detector.Scoring(cropCount: 2, cropSize: 16, aggregation: .minimum)
        let folded = Evaluation.aggregatedByImage(names: original.names + downscaled.names, perMember: [[5, 3, 7, 9, 4, 6]], scoring: scoring)
        #expect(folded.names.map { ($0 as NSString).lastPathComponent } == ["image0.png", "image1.png", "image0.png", "image1.png"])
        #expect(folded.perMember == [[3, 7, 4, 6]])
        let mean = Evaluation.aggregatedByImage(names: original.names, perMember: [[5, 3, 7, 9]], scoring: try Detector.Scoring(cropCount: 2, cropSize: 16))
        #expect(mean.perMember == [[4, 8]])
        // The photo-level bootstrap groups a photo's regions with it (the name before the first "#").
        #expect(original.names[1].split(separator: "#").first.map(String.init) == folded.names[0])
    }

    @Test("scores: one member gives log-likelihoods; several give the joint margin, ≥ 0 exactly when all agree")
    func scores() throws {
        var generator = RandomGenerator(seed: 5)
        let rows = (0..<40).map { _ in (0..<3).map { _ in Float.random(in: -1...1, using: &generator) } }
        let features = SampleFeatures(names: (0..<40).map { "s\($0)" }, rows: [rows, rows.map { $0.map { $0 * 2 } }])
        let mixtures = try (0..<2).map { member in
            try GaussianMixture(fitting: features.matrix(member: member),
                                configuration: .init(componentCount: 1, covarianceType: .diagonal), using: &generator)
        }
        let single = try Evaluation.scores(SampleFeatures(names: features.names, rows: [rows]), mixtures: [mixtures[0]], thresholds: [-2])
        #expect(single.combined == (try mixtures[0].scoreSamples(features.matrix(member: 0))) && single.combinedThreshold == -2)
        let thresholds = [-2.5, -4.0]
        let joint = try Evaluation.scores(features, mixtures: mixtures, thresholds: thresholds)
        #expect(joint.combinedThreshold == 0)
        let rule = JointThreshold(thresholds: thresholds)
        for sample in 0..<40 {
            let perMember = [joint.perMember[0][sample], joint.perMember[1][sample]]
            #expect((joint.combined[sample] >= 0) == rule.isReal(perMember))
        }
    }
}
