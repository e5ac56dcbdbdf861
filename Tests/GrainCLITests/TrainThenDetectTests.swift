import Foundation
import Testing

/// The built Examples/TrainThenDetect executable (release, else debug), or `nil` when that
/// package has not been built (`swift build --package-path Examples/TrainThenDetect`).
let trainThenDetectExecutable: URL? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let build = root.appendingPathComponent("Examples/TrainThenDetect/.build")
    return ["release", "debug"].map { build.appendingPathComponent("\($0)/train-then-detect") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
}()

/// The example's `--quick` configuration end to end on made-up photos: every stage runs, the
/// table and the report come out, and a second run reuses the cached stages.
@Suite("train-then-detect example", .enabled(if: trainThenDetectExecutable != nil,
                                             "Examples/TrainThenDetect is not built: skipped"))
struct TrainThenDetectTests {
    @Test func quickRunPrintsTheTableAndReusesItsStages() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("train-then-detect-\(UUID().uuidString)")
        let photos = folder.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for index in 0..<5 {
            try noisyImage(seed: UInt64(index), width: 80, height: 72).write(to: photos.appendingPathComponent("photo\(index).png"))
        }
        func run() throws -> Run {
            try runProcess(trainThenDetectExecutable!, ["--quick", "--photos", photos.path, "--out", folder.appendingPathComponent("out").path],
                           in: folder)
        }
        let first = try run()
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.output.contains("AUC") && first.output.contains("generated from noise (DDIM)")
                && first.output.contains("VAE reconstructions") && first.output.contains("held-out real (test)"))
        let report = folder.appendingPathComponent("out/seed-0-quick/report/trained")
        for file in ["metrics.json", "per_generator.csv", "histogram.svg", "roc.png", "detector.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: report.appendingPathComponent(file).path), "\(file)")
        }
        let second = try run()
        #expect(second.status == 0, "\(second.errors)")
        #expect(second.errors.contains("3. extractor: reusing"))
        #expect(second.output == first.output, "deterministic for a seed")
    }
}
