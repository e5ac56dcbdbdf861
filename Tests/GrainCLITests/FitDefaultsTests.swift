import Foundation
import GrainTestSupport
import Imaging
import NN
import Tensor
import Testing

/// `grain fit`'s defaults and flags, and `grain evaluate` fitting through the same path.
@Suite("grain fit defaults", .enabled(if: grainExecutable != nil, "the grain executable is not built next to the tests: skipped"))
struct FitDefaultsTests {
    /// A folder with random extractor weights and `count` noisy "real" photos in `real/`.
    static func material(count: Int) throws -> (folder: URL, weights: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-fit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("real"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("fake/noise"), withIntermediateDirectories: true)
        let weights = folder.appendingPathComponent("weights.safetensors")
        try writeRandomExtractorWeights(to: weights)
        for index in 0..<count {
            try noisyImage(seed: UInt64(index), width: 48, height: 40).write(to: folder.appendingPathComponent(String(format: "real/photo%02d.png", index)))
        }
        for index in 0..<3 {
            try noisyImage(seed: 900 + UInt64(index)).write(to: folder.appendingPathComponent("fake/noise/fake\(index).png"))
        }
        return (folder, weights)
    }

    @Test func fitAndEvaluateWriteTheSameDetector() throws {
        let (folder, weights) = try Self.material(count: 14)
        defer { try? FileManager.default.removeItem(at: folder) }
        let flags = ["--weights", weights.path, "--crops-per-image", "3", "--crop-size", "32", "--crop-min-size", "16",
                     "--components", "auto", "--covariance", "diagonal", "--folds", "3", "--seed", "5"]
        let report = folder.appendingPathComponent("report")
        let evaluate = try grain(["evaluate", "--real", folder.appendingPathComponent("real").path,
                                  "--fake", folder.appendingPathComponent("fake/noise").path,
                                  "--fit-fraction", "0.72", "--out", report.path] + flags, in: folder)
        #expect(evaluate.status == 0, "\(evaluate.errors)")
        // The fit photos evaluate chose, from its metrics.json provenance.
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("metrics.json"))) as? [String: Any])
        let provenance = try #require(metrics["provenance"] as? [String: Any])
        let fitPhotos = try #require(provenance["fit_photo_list"] as? String).split(separator: "\n").map(String.init)
        #expect(fitPhotos.count == 10)
        let detector = folder.appendingPathComponent("fit.safetensors")
        let fit = try grain(["fit", "--real"] + fitPhotos + ["--out", detector.path] + flags, in: folder)
        #expect(fit.status == 0, "\(fit.errors)")
        #expect(fit.output.contains("chosen by photo-grouped 3-fold cross-validation"))
        let a = try SafeTensors(contentsOf: detector), b = try SafeTensors(contentsOf: report.appendingPathComponent("detector.safetensors"))
        let mixtureKeys = a.keys.filter { $0.contains(".mixture.") }
        #expect(mixtureKeys.count == 3 && mixtureKeys == b.keys.filter { $0.contains(".mixture.") })
        for key in mixtureKeys {
            #expect(try a.doubles(named: key) == b.doubles(named: key), "\(key)")
        }
        let metadataA = try #require(a.metadata["grain.detector"]), metadataB = try #require(b.metadata["grain.detector"])
        func thresholds(_ json: String) throws -> [Double] {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            return try #require(object["members"] as? [[String: Any]]).compactMap { $0["threshold"] as? Double }
        }
        #expect(try thresholds(metadataA) == thresholds(metadataB) && thresholds(metadataA).count == 1)
    }

    @Test func badFlagsAreClearErrorsNamingTheFlag() throws {
        let (folder, weights) = try Self.material(count: 6)
        defer { try? FileManager.default.removeItem(at: folder) }
        let real = folder.appendingPathComponent("real").path, out = folder.appendingPathComponent("d.safetensors").path
        func failure(_ arguments: [String], _ expected: String, environment: [String: String]? = nil) throws {
            let run = try grain(["fit", "--real", real, "--out", out] + arguments, in: folder)
            #expect(run.status != 0, "\(arguments)")
            #expect(run.errors.contains(expected), "\(arguments): \(run.errors)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        // No weights and no GRAIN_WEIGHTS (the test runner's environment has none).
        if ProcessInfo.processInfo.environment["GRAIN_WEIGHTS"] == nil {
            try failure([], "--weights: no extractor weights given")
        }
        try failure(["--weights", weights.path, "--components", "auto", "--folds", "6"], "--components auto: cross-validation with --folds 6 needs at least 6 training photos, got 5")
        try failure(["--weights", weights.path, "--threshold", "authors", "--target-fpr", "0.2"], "--calibrate and --target-fpr need the calibrated threshold")
        try failure(["--weights", weights.path, "--target-fpr", "2"], "--target-fpr must be in (0, 1)")
        try failure(["--weights", weights.path, "--components", "-1"], "--components must be auto or ≥ 1")
        try failure(["--weights", weights.path, "--regularization", "1e300"], "--regularization must be in [1e-10, 1.0], got 1e+300")
        try failure(["--weights", weights.path, "--regularization", "0"], "--regularization must be in [1e-10, 1.0], got 0.0")
        try failure(["--weights", weights.path, "--rate", "-1"], "--rate must be in [0, 1), got -1.0")
        try failure(["--weights", weights.path, "--pixel-limit", "-5"], "--pixel-limit must be ≥ 1, got -5")
        try failure(["--weights", weights.path, "--pixel-limit=-5"], "--pixel-limit must be ≥ 1, got -5")
        try failure(["--weights", weights.path, "--max-iterations", "0"], "--max-iterations must be ≥ 1")
        // 6 photos, 1 held out for calibration, 2 crops each: 10 samples for 10,000 components.
        try failure(["--weights", weights.path, "--components", "10000", "--crops-per-image", "2"],
                    "--components 10000: the fit has at most 10 training samples (5 photos × 2)")
        try failure(["--weights", weights.path, "--crop-min-size", "40"], "--crop-min-size must be a multiple of 16")
        let missingFolder = try grain(["fit", "--real", real, "--out", "/nonexistent-folder/d.safetensors", "--weights", weights.path], in: folder)
        #expect(missingFolder.status != 0 && missingFolder.errors.contains("--out: the folder /nonexistent-folder does not exist"))
    }

    @Test func paperPresetUsesTheAuthorsRuleAndWarns() throws {
        let (folder, weights) = try Self.material(count: 8)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("paper.safetensors")
        let run = try grain(["fit", "--preset", "paper", "--components", "1", "--covariance", "spherical", "--weights", weights.path,
                             "--real", folder.appendingPathComponent("real").path, "--out", out.path], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("(authors)") && run.output.contains("warning: the threshold is the authors' in-sample rule"))
        #expect(run.output.contains("fitted on 8 photos (8 samples), 0 held out"))
    }
}
