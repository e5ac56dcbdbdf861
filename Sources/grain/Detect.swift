import ArgumentParser
import Foundation
import Imaging
import OneClass

/// `grain detect`: judge images with a fitted detector.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Judge images with a detector: real photograph or AI-generated.",
        discussion: """
            With --json, one object per image and line: {"path", "logLikelihood", "threshold", "verdict", "patches"} \
            where verdict is "generated" or "real", and logLikelihood and threshold are numbers for a one-member \
            detector and arrays (member order) for several; a file that cannot be read gives {"path", "error"} and \
            the batch goes on. Without --json, one text line per image. Folders are searched recursively for .jpg, \
            .jpeg and .png files. Exit code 0 when every file was judged, 1 when any failed.
            """)

    @Option(help: "The detector file (from `grain fit`).") var detector: String
    @Flag(help: "JSON lines output.") var json = false
    @Option(help: "Largest image to decode, in pixels (larger ones are reported as errors).") var pixelLimit = 89_478_485
    @Argument(help: "Image files or folders (JPEG, PNG).") var paths: [String]

    func run() throws {
        let model: Detector
        do {
            model = try Detector(contentsOf: URL(fileURLWithPath: detector))
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let files: [URL] = ImageFiles.expand(paths)
        var progress = Progress(total: files.count, unit: "images")
        var failures = 0, generated = 0
        model.detect(files: files, pixelLimit: pixelLimit) { _, file, result in
            defer { progress.advance() }
            switch result {
            case let .success(verdict):
                if verdict.isGenerated { generated += 1 }
                if json {
                    func value(_ values: [Double]) -> Any { values.count == 1 ? values[0] : values }
                    printJSONLine(["path": file.path, "logLikelihood": value(verdict.logLikelihoods),
                                   "threshold": value(verdict.thresholds), "patches": verdict.patchCount,
                                   "verdict": verdict.isGenerated ? "generated" : "real"])
                } else {
                    let comparisons = zip(verdict.logLikelihoods, verdict.thresholds).map { score, threshold in
                        String(format: "%.2f %@ %.2f", score, score >= threshold ? "≥" : "<", threshold)
                    }
                    print("\(verdict.isGenerated ? "generated" : "real     ")  \(file.path)  (log-likelihood \(comparisons.joined(separator: ", ")))")
                }
            case let .failure(error):
                failures += 1
                if json { printJSONLine(["path": file.path, "error": error.description]) } else { print("error      \(error)") }
            }
        }
        printError("\(files.count - failures - generated) real, \(generated) generated, \(failures) failed")
        if failures > 0 { throw ExitCode.failure }
    }
}
