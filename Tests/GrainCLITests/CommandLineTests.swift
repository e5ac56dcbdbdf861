import Foundation
import GrainTestSupport
import Imaging
import NN
import Tensor
import Testing

/// The built `grain` executable, next to the test binary (`swift build --build-tests` and
/// `swift test` build both); `nil` when it is not there.
let grainExecutable: URL? = {
    let testBinary = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0])
    var folder = testBinary.deletingLastPathComponent()
    // macOS runs the tests from inside GrainPackageTests.xctest/Contents/MacOS.
    if folder.path.hasSuffix("Contents/MacOS") { folder = folder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
    let candidate = folder.appendingPathComponent("grain")
    return FileManager.default.isExecutableFile(atPath: candidate.path) ? candidate : nil
}()

/// What a run of `grain` printed and returned.
struct Run {
    let status: Int32
    let output: String
    let errors: String

    /// The JSON objects of standard output, one per line.
    var jsonLines: [[String: Any]] {
        output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

/// Runs `grain` with `arguments`, standard output and error captured through files (no pipe can fill up).
func grain(_ arguments: [String], in folder: URL) throws -> Run {
    try runProcess(grainExecutable!, arguments, in: folder)
}

/// Runs `executable` with `arguments` and waits, standard output and error captured through
/// files in `folder` (no pipe can fill up).
func runProcess(_ executable: URL, _ arguments: [String], in folder: URL) throws -> Run {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let outURL = folder.appendingPathComponent("stdout-\(UUID().uuidString)")
    let errURL = folder.appendingPathComponent("stderr-\(UUID().uuidString)")
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return Run(status: process.terminationStatus,
               output: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
               errors: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// A noisy gradient, photograph-like enough for a one-component mixture.
func noisyImage(seed: UInt64, width: Int = 32, height: Int = 32) -> Image {
    var generator = RandomGenerator(seed: seed)
    let pixels = (0..<(width * height * 3)).map { index -> UInt8 in
        let x = (index / 3) % width, y = index / 3 / width
        return UInt8(max(0, min(255, 60 + 2 * Double(x + y) + 10 * generator.nextStandardNormal())))
    }
    return Image(width: width, height: height, channels: 3, pixels: pixels)
}

/// Random extractor weights (uniform in ±0.2, 1 added to the 1-D convolutions' weights) written to `url`.
func writeRandomExtractorWeights(to url: URL) throws {
    var random: [String: Tensor] = [:]
    for (index, (key, parameter)) in LowLevelFeatureExtractor().namedParameters().enumerated() {
        random[key] = randomTensor(parameter.shape, seed: UInt64(index), lower: -0.2, upper: 0.2)
            + (key.hasSuffix(".weight") && parameter.shape.count == 3 ? 1 : 0)
    }
    try SafeTensors.write(random, to: url)
}

/// `grain fit`, `detect`, `features`, `inspect` and `convert` as a script would run them.
@Suite("grain command line", .enabled(if: grainExecutable != nil, "the grain executable is not built next to the tests: skipped"))
struct CommandLineTests {
    @Test func fitDetectInspectConvertAndFeatures() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("real"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("mixed"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        // Random extractor weights and eight "real" images.
        let weights = folder.appendingPathComponent("weights.safetensors")
        try writeRandomExtractorWeights(to: weights)
        for index in 0..<8 {
            try noisyImage(seed: UInt64(index)).write(to: folder.appendingPathComponent("real/photo\(index).png"))
        }

        // fit
        let detector = folder.appendingPathComponent("detector.safetensors")
        let fit = try grain(["fit", "--weights", weights.path, "--real", folder.appendingPathComponent("real").path,
                             "--out", detector.path, "--components", "1", "--covariance", "spherical",
                             "--calibrate", "0.25", "--target-fpr", "0.5", "--crop", "center", "--seed", "3"], in: folder)
        #expect(fit.status == 0, "\(fit.errors)")
        #expect(fit.output.contains("fitted on 6 photos") && fit.output.contains("false-positive rate on 2 held-out real photos"))
        #expect(FileManager.default.fileExists(atPath: detector.path))

        // detect, JSON lines: verdicts for readable files, errors for the others, exit code 1.
        let mixed = folder.appendingPathComponent("mixed")
        try noisyImage(seed: 50).write(to: mixed.appendingPathComponent("a-good.png"))
        try noisyImage(seed: 51, width: 1, height: 1).write(to: mixed.appendingPathComponent("b-tiny.png"))
        try Data().write(to: mixed.appendingPathComponent("c-empty.png"))
        try Data("plain text".utf8).write(to: mixed.appendingPathComponent("d-text.jpg"))
        let detect = try grain(["detect", "--detector", detector.path, "--json", mixed.path,
                                folder.appendingPathComponent("missing.jpg").path], in: folder)
        #expect(detect.status == 1)
        let lines = detect.jsonLines
        #expect(lines.count == 5)
        #expect(lines.map { ($0["path"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent } }
                == ["a-good.png", "b-tiny.png", "c-empty.png", "d-text.jpg", "missing.jpg"])
        for line in lines.prefix(2) {
            #expect(line["logLikelihood"] is Double && line["threshold"] is Double && line["patches"] is Int)
            #expect(["generated", "real", "uncertain"].contains(line["verdict"] as? String))
            #expect(line["reasons"] is [[String: String]] && line["error"] == nil)
        }
        // 1×1 is one patch, far below the fitted photos' 4: outside the domain.
        #expect(lines[1]["verdict"] as? String == "uncertain")
        #expect((lines[1]["reasons"] as? [[String: String]])?.map { $0["code"] } == ["patch-count"])
        for line in lines.suffix(3) {
            #expect((line["error"] as? String)?.isEmpty == false && line["verdict"] == nil)
        }
        #expect(detect.errors.contains("3 failed"))

        // Text output, and exit code 0 when every file was judged.
        let single = try grain(["detect", "--detector", detector.path, mixed.appendingPathComponent("a-good.png").path], in: folder)
        #expect(single.status == 0 && single.output.contains("a-good.png") && single.output.contains("log-likelihood"))

        // inspect: a detector and a weights file.
        let inspectDetector = try grain(["inspect", detector.path], in: folder)
        #expect(inspectDetector.status == 0 && inspectDetector.output.contains("Grain detector, 1 member(s)"))
        #expect(inspectDetector.output.contains("\"formatVersion\" : 1"))
        let inspectWeights = try grain(["inspect", weights.path], in: folder)
        #expect(inspectWeights.status == 0 && inspectWeights.output.contains("762821 parameters"))
        #expect(inspectWeights.output.contains("group1_b.0.weight  F32  [32, 90, 3, 3]"))

        // convert (a safetensors input works too; .pth is the usual one) keeps every tensor.
        let converted = folder.appendingPathComponent("converted.safetensors")
        let convert = try grain(["convert", weights.path, converted.path], in: folder)
        #expect(convert.status == 0 && convert.output.contains("wrote 69 tensors (762821 parameters)"))
        let original = try SafeTensors(contentsOf: weights), copy = try SafeTensors(contentsOf: converted)
        #expect(copy.keys == original.keys && copy.metadata["source"] == "weights.safetensors")
        for key in original.keys { #expect(try copy.tensor(named: key).scalars == original.tensor(named: key).scalars) }

        // features: path and 528 numbers per image, errors per file, --crop aliases.
        let features = try grain(["features", "--weights", weights.path, "--crop", "authors", "--json",
                                  mixed.appendingPathComponent("a-good.png").path, mixed.appendingPathComponent("c-empty.png").path],
                                 in: folder)
        #expect(features.status == 1)
        let featureLines = features.jsonLines
        #expect(featureLines.count == 2)
        #expect((featureLines.first?["feature"] as? [Double])?.count == 528 && featureLines.first?["path"] is String)
        #expect(featureLines.last?["error"] is String)

        // A bad detector file is one clear error.
        let bad = try grain(["detect", "--detector", weights.path, mixed.path], in: folder)
        #expect(bad.status != 0 && bad.errors.contains("not a valid Grain detector file"))
    }
}
