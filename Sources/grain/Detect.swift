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

            With --skip-done FILE (and --json), the rows go to FILE instead of standard output: inputs whose path \
            already has a row there (a verdict or an error) are skipped, each new row is appended as one whole line, \
            and a partial last line left by a killed run is dropped and its input judged again, so a killed run \
            rerun with the same arguments ends with exactly one row per input. Delete an error row to retry it.
            """)

    @Option(help: "The detector file (from `grain fit`).") var detector: String
    @Flag(help: "JSON lines output.") var json = false
    @Option(help: "Largest image to decode, in pixels (larger ones are reported as errors).") var pixelLimit = 89_478_485
    @Option(help: ArgumentHelp("With --json: append rows to this JSON-lines file, skipping inputs that already have a row there (resume a killed run).",
                               valueName: "results.jsonl"))
    var skipDone: String?
    @Argument(help: "Image files or folders (JPEG, PNG).") var paths: [String]

    func validate() throws {
        if skipDone != nil, !json { throw ValidationError("--skip-done needs --json (the results file holds JSON lines)") }
    }

    func run() throws {
        let model: Detector
        do {
            model = try Detector(contentsOf: URL(fileURLWithPath: detector))
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        var results: ResumableResults?
        do {
            results = try skipDone.map { try ResumableResults(url: URL(fileURLWithPath: $0)) }
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        var files: [URL] = ImageFiles.expand(paths)
        let inputCount = files.count
        if let results {
            // Each path once, and none that already has a row.
            var seen = Set<String>()
            let pending = files.filter { !results.isDone($0.path) }
            files = pending.filter { seen.insert($0.path).inserted }
            if results.droppedByteCount > 0 {
                printError("\(results.url.path): dropped a partial last line (\(results.droppedByteCount) bytes) left by an interrupted run")
            }
            let repeats = pending.count - files.count
            printError("\(inputCount - pending.count) of \(inputCount) inputs already have a row in \(results.url.path)"
                       + (repeats > 0 ? ", \(repeats) listed more than once" : "") + "; judging \(files.count)")
        }
        var progress = Progress(total: files.count, unit: "images")
        var failures = 0, generated = 0
        /// Prints a row, or appends it to the results file (a row that cannot be encoded becomes an error row).
        func emit(_ row: [String: Any], for file: URL) throws {
            guard results != nil else { return printJSONLine(row) }
            let line = jsonLine(row) ?? jsonLine(["path": file.path, "error": "\(file.path): the result cannot be encoded as JSON"])!
            do { try results!.append(line, for: file.path) } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
        try model.detect(files: files, pixelLimit: pixelLimit) { _, file, result in
            defer { progress.advance() }
            switch result {
            case let .success(verdict):
                if verdict.isGenerated { generated += 1 }
                if json {
                    func value(_ values: [Double]) -> Any { values.count == 1 ? values[0] : values }
                    try emit(["path": file.path, "logLikelihood": value(verdict.logLikelihoods),
                              "threshold": value(verdict.thresholds), "patches": verdict.patchCount,
                              "verdict": verdict.isGenerated ? "generated" : "real"], for: file)
                } else {
                    let comparisons = zip(verdict.logLikelihoods, verdict.thresholds).map { score, threshold in
                        String(format: "%.2f %@ %.2f", score, score >= threshold ? "≥" : "<", threshold)
                    }
                    print("\(verdict.isGenerated ? "generated" : "real     ")  \(file.path)  (log-likelihood \(comparisons.joined(separator: ", ")))")
                }
            case let .failure(error):
                failures += 1
                if json { try emit(["path": file.path, "error": error.description], for: file) } else { print("error      \(error)") }
            }
        }
        printError("\(files.count - failures - generated) real, \(generated) generated, \(failures) failed")
        if failures > 0 { throw ExitCode.failure }
    }
}
