import Foundation
import GrainTestSupport
import Imaging
import NN
import Tensor
import Testing

/// `grain fit --augment` and `--score-crops`, and `grain detect`'s three-way verdicts with reasons.
@Suite("grain verdicts", .enabled(if: grainExecutable != nil, "the grain executable is not built next to the tests: skipped"))
struct VerdictCommandTests {
    /// A folder with random weights and eight 64×64 "real" PNGs.
    static func setUp() throws -> (folder: URL, weights: URL, real: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-verdict-\(UUID().uuidString)")
        let real = folder.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        let weights = folder.appendingPathComponent("weights.safetensors")
        try writeRandomExtractorWeights(to: weights)
        for index in 0..<8 {
            try noisyImage(seed: UInt64(index), width: 64, height: 64).write(to: real.appendingPathComponent("photo\(index).png"))
        }
        return (folder, weights, real)
    }

    @Test func impossibleAugmentationAndScoringAreErrorsNamingTheFlag() throws {
        let (folder, weights, real) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let base = ["fit", "--weights", weights.path, "--real", real.path, "--out", folder.appendingPathComponent("d.safetensors").path]
        for (flags, mention) in [(["--augment", "jpeg:90-70"], "jpegMinimumQuality"), (["--augment", "jpeg:0-100"], "JPEG quality"),
                                 (["--augment", "downscale:0-1"], "downscaling factor"), (["--augment", "sharpen:2"], "unknown key"),
                                 (["--score-crops=-1"], "crop count"), (["--score-crop-size", "40", "--score-crops", "4"], "crop size")] {
            let run = try grain(base + flags, in: folder)
            #expect(run.status != 0, "\(flags)")
            let flag = flags[0].hasPrefix("--score") ? "--score-crops" : "--augment"
            #expect(run.errors.contains(flag + (flag == "--augment" ? ": " : "")) && run.errors.contains(mention), "\(flags): \(run.errors)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("d.safetensors").path))
        }
    }

    @Test func impossibleAuditSettingsAreErrorsNamingTheFlag() throws {
        let (folder, weights, real) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let base = ["evaluate", "--weights", weights.path, "--fit-fraction", "0.5", "--real", real.path, "--fake", real.path,
                    "--out", folder.appendingPathComponent("report").path]
        for (flags, message) in [(["--match-format", "jpeg:0"], "--match-format: jpeg:0 is not jpeg:Q with Q in 1...100"),
                                 (["--match-format", "png"], "--match-format: png is not jpeg:Q"),
                                 (["--match-size", "8"], "--match-size: 8 is below 16"),
                                 (["--match-both", "--match-format", "jpeg:90"], "--match-both needs at least one --match-format and one --match-size"),
                                 (["--match-real-qualities"], "--match-real-qualities: none of the real test photos is a JPEG")] {
            let run = try grain(base + flags, in: folder)
            #expect(run.status != 0, "\(flags)")
            #expect(run.errors.contains(message), "\(flags): \(run.errors)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("report/metrics.json").path))
        }
    }

    @Test func detectSaysUncertainWithReasonsAndPrintsPerCropScores() throws {
        let (folder, weights, real) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let detector = folder.appendingPathComponent("detector.safetensors")
        let fit = try grain(["fit", "--weights", weights.path, "--real", real.path, "--out", detector.path, "--components", "1",
                             "--covariance", "spherical", "--calibrate", "0.25", "--target-fpr", "0.5", "--crops-per-image", "2",
                             "--crop-size", "32", "--crop-min-size", "32", "--score-crops", "4", "--score-crop-size", "32",
                             "--score-aggregate", "median"], in: folder)
        #expect(fit.status == 0, "\(fit.errors)")
        #expect(fit.output.contains("scoring: 4 crops of 32 px at fixed positions, median"))
        #expect(fit.output.contains("domain: 8 photos (png 8), patch counts 16–16"))

        let test = folder.appendingPathComponent("test")
        try FileManager.default.createDirectory(at: test, withIntermediateDirectories: true)
        let photo = noisyImage(seed: 90, width: 64, height: 64)
        try photo.write(to: test.appendingPathComponent("a-photo.png"))
        try noisyImage(seed: 91, width: 20, height: 20).write(to: test.appendingPathComponent("b-small.png"))
        let grey = stride(from: 0, to: photo.pixels.count, by: 3).map { photo.pixels[$0] }
        try Image(width: 64, height: 64, channels: 1, pixels: grey).write(to: test.appendingPathComponent("c-grey.png"))
        try photo.encoded(as: .jpeg(quality: 90)).write(to: test.appendingPathComponent("d-photo.jpg"))
        let deep = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("OneClassTests/Fixtures/bad-input/rgb16.png")
        try FileManager.default.copyItem(at: deep, to: test.appendingPathComponent("e-rgb16.png"))

        let run = try grain(["detect", "--detector", detector.path, "--json", test.path], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.jsonLines
        #expect(lines.count == 5)
        func codes(_ line: [String: Any]) -> [String] { (line["reasons"] as? [[String: String]] ?? []).compactMap { $0["code"] } }
        // The photo like the fit photos: four crop scores, combined by the median.
        let first = lines[0]
        #expect(["real", "generated", "uncertain"].contains(first["verdict"] as? String))
        let crops = try #require(first["cropLogLikelihoods"] as? [Double])
        let sorted = crops.sorted()
        #expect(crops.count == 4 && abs((first["logLikelihood"] as? Double ?? .nan) - (sorted[1] + sorted[2]) / 2) < 1e-9)
        // Too small for any crop: scored whole, and outside the fitted sizes.
        #expect(lines[1]["verdict"] as? String == "uncertain" && codes(lines[1]).contains("patch-count") && lines[1]["cropLogLikelihoods"] == nil)
        #expect(lines[2]["verdict"] as? String == "uncertain" && codes(lines[2]).contains("components"))
        #expect(lines[3]["verdict"] as? String == "uncertain" && codes(lines[3]).contains("format"))
        #expect(lines[4]["verdict"] as? String == "uncertain" && codes(lines[4]).contains("bit-depth"))
        #expect(run.errors.contains("uncertain"))

        // The text form names the verdict and indents the reasons.
        let text = try grain(["detect", "--detector", detector.path, test.appendingPathComponent("d-photo.jpg").path], in: folder)
        #expect(text.status == 0 && text.output.hasPrefix("uncertain") && text.output.contains("format: format jpeg never seen in fit"))
    }

    @Test func detectStabilityAddsTheReencodedScoreAndIsOffByDefault() throws {
        let (folder, weights, real) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let detector = folder.appendingPathComponent("detector.safetensors")
        let fit = try grain(["fit", "--weights", weights.path, "--real", real.path, "--out", detector.path, "--components", "1",
                             "--covariance", "spherical", "--calibrate", "0.25", "--target-fpr", "0.5", "--crops-per-image", "2",
                             "--crop-size", "32", "--crop-min-size", "32"], in: folder)
        #expect(fit.status == 0, "\(fit.errors)")
        let test = folder.appendingPathComponent("test")
        try FileManager.default.createDirectory(at: test, withIntermediateDirectories: true)
        for index in 0..<4 {
            try noisyImage(seed: 200 + UInt64(index), width: 64, height: 64).write(to: test.appendingPathComponent("photo\(index).png"))
        }
        let plain = try grain(["detect", "--detector", detector.path, "--json", test.path], in: folder)
        let checked = try grain(["detect", "--detector", detector.path, "--json", "--stability", test.path], in: folder)
        #expect(plain.status == 0 && checked.status == 0, "\(plain.errors) \(checked.errors)")
        #expect(plain.jsonLines.count == 4 && checked.jsonLines.count == 4)
        for (without, with) in zip(plain.jsonLines, checked.jsonLines) {
            #expect(without["stability"] == nil)
            #expect(with["path"] as? String == without["path"] as? String)
            #expect(with["logLikelihood"] as? Double == without["logLikelihood"] as? Double)
            let stability = try #require(with["stability"] as? [String: Any])
            #expect(stability["reencode"] as? String == "JPEG q=90, 4:2:0")
            #expect((stability["logLikelihood"] as? Double)?.isFinite == true)
            #expect(["real", "generated", "uncertain"].contains(stability["verdict"] as? String))
            // The verdict changes only when it flips, and then says so.
            let codes = (with["reasons"] as? [[String: String]] ?? []).compactMap { $0["code"] }
            let flips = Set([without["verdict"] as? String, stability["verdict"] as? String]) == ["real", "generated"]
            #expect(flips == codes.contains("stability"), "\(with)")
            #expect((with["verdict"] as? String) == (flips ? "uncertain" : without["verdict"] as? String), "\(with)")
        }
        let text = try grain(["detect", "--detector", detector.path, "--stability", test.appendingPathComponent("photo0.png").path], in: folder)
        #expect(text.status == 0 && text.output.contains("; after JPEG q=90, 4:2:0: "), "\(text.output)")
        let help = try grain(["detect", "--help"], in: folder)
        let words = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("--stability") && words.contains("doubles the cost"), "\(help.output)")
    }

    @Test func fitReadoutIsValidatedStoredAndPrinted() throws {
        let (folder, weights, real) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let detector = folder.appendingPathComponent("detector.safetensors")
        let base = ["fit", "--weights", weights.path, "--real", real.path, "--out", detector.path, "--components", "1",
                    "--covariance", "spherical", "--calibrate", "0.25", "--target-fpr", "0.5", "--crops-per-image", "2",
                    "--crop-size", "32", "--crop-min-size", "32"]
        let bad = try grain(base + ["--readout", "median"], in: folder)
        #expect(bad.status != 0 && bad.errors.contains("--readout: unknown feature readout 'median', expected one of: token0, mean"), "\(bad.errors)")
        #expect(!FileManager.default.fileExists(atPath: detector.path))
        // The recommended preset reads the mean over tokens; the paper preset and --readout token0 token 0.
        let plain = try grain(base, in: folder)
        #expect(plain.status == 0, "\(plain.errors)")
        #expect(plain.output.contains("readout: mean of the transformer's output tokens"), "\(plain.output)")
        let inspect = try grain(["inspect", detector.path], in: folder)
        #expect(inspect.output.contains("\"readout\" : \"mean\""), "\(inspect.output)")
        let authors = try grain(base + ["--readout", "token0"], in: folder)
        #expect(authors.status == 0 && authors.output.contains("readout: token0, the transformer's first output token (the authors')"), "\(authors.output)")
        #expect(try grain(["inspect", detector.path], in: folder).output.contains("\"readout\" : \"token0\""))
        let paper = try grain(["fit", "--weights", weights.path, "--real", real.path, "--out", detector.path, "--preset", "paper",
                               "--components", "1", "--covariance", "spherical", "--regularization", "1e-3"], in: folder)
        #expect(paper.status == 0 && paper.output.contains("readout: token0"), "\(paper.errors)")
        let mean = try grain(base + ["--preset", "paper", "--threshold", "calibrated", "--readout", "mean"], in: folder)
        #expect(mean.status == 0 && mean.output.contains("readout: mean of the transformer's output tokens"), "\(mean.errors)")
    }

    @Test func augmentedFitRecordsItsSettingAndTheAugmentedDomain() throws {
        let (folder, weights, real) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let detector = folder.appendingPathComponent("detector.safetensors")
        let fit = try grain(["fit", "--weights", weights.path, "--real", real.path, "--out", detector.path, "--components", "1",
                             "--covariance", "spherical", "--calibrate", "0.25", "--target-fpr", "0.5", "--crops-per-image", "2",
                             "--crop-size", "32", "--crop-min-size", "32", "--augment", "jpeg:80-90"], in: folder)
        #expect(fit.status == 0, "\(fit.errors)")
        #expect(fit.output.contains("augmentation of the fit and calibration photos: jpeg:80-90"))
        #expect(fit.output.contains("domain: 8 photos (jpeg 8)"))
        // The extra cost is reported (standard error: it varies run to run).
        #expect(fit.errors.contains("augmentation: 8 photos transformed in "), "\(fit.errors)")
        let inspect = try grain(["inspect", detector.path], in: folder)
        #expect(inspect.output.contains("\"jpegMaximumQuality\" : 90") && inspect.output.contains("\"domain\""))
    }
}
