import ArgumentParser
import Foundation
import Imaging
import OneClass

/// `grain detect`: judge images with a fitted detector.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Judge images with a detector: real photograph or AI-generated.",
        discussion: """
            Each image gets a verdict: "real", "generated" or "uncertain". Uncertain means the detector cannot \
            tell: the image lies outside the domain it was fitted on (a format, bit depth, colour layout, JPEG \
            chroma or quantisation it never saw, a JPEG quality or size outside the fitted range), or its score \
            lies in the band around the threshold that the calibration set cannot resolve; the reasons say which. \
            With --json, one object per image and line: {"path", "verdict", "reasons", "logLikelihood", \
            "threshold", "patches"} plus "cropLogLikelihoods" when the detector scores several crops; \
            logLikelihood and threshold are numbers for a one-member detector and arrays (member order) for \
            several, reasons a list of {"code", "message"}. A file that cannot be read gives {"path", "error"} \
            and the batch goes on. Without --json, one text line per image (reasons indented below). Folders are \
            searched recursively for .jpg, .jpeg and .png files. Exit code 0 when every file was judged, 1 when \
            any failed.

            With --stability (off by default; it doubles the cost), each image is also re-encoded once as JPEG \
            quality 90 with 4:2:0 chroma and scored again; when one of the two is judged real and the other \
            generated, the verdict is uncertain with the reason code "stability". With --json the row gains \
            "stability": {"reencode", "logLikelihood", "verdict"} (the re-encoded image's score and its verdict \
            without the domain check).

            With --skip-done FILE (and --json), the rows go to FILE instead of standard output: inputs whose path \
            already has a row there (a verdict or an error) are skipped, each new row is appended as one whole line, \
            and a partial last line left by a killed run is dropped and its input judged again, so a killed run \
            rerun with the same arguments ends with exactly one row per input. Delete an error row to retry it.
            """)

    @Option(help: "The detector file (from `grain fit`).") var detector: String
    @Flag(help: "JSON lines output.") var json = false
    @Flag(help: "Also judge each image after one JPEG re-encode (quality 90, 4:2:0); uncertain when the verdict flips (doubles the cost).")
    var stability = false
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
        var failures = 0
        var decisions: [Detector.Verdict.Decision: Int] = [:]
        /// Prints a row, or appends it to the results file (a row that cannot be encoded becomes an error row).
        func emit(_ row: [String: Any], for file: URL) throws {
            guard results != nil else { return printJSONLine(row) }
            let line = jsonLine(row) ?? jsonLine(["path": file.path, "error": "\(file.path): the result cannot be encoded as JSON"])!
            do { try results!.append(line, for: file.path) } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
        try model.detect(files: files, pixelLimit: pixelLimit, stability: stability ? .default : nil) { _, file, result in
            defer { progress.advance() }
            switch result {
            case let .success(verdict):
                decisions[verdict.decision, default: 0] += 1
                if json {
                    func value(_ values: [Double]) -> Any { values.count == 1 ? values[0] : values }
                    var object: [String: Any] = [
                        "path": file.path, "verdict": verdict.decision.rawValue,
                        "reasons": verdict.reasons.map { ["code": $0.code, "message": $0.message] },
                        "logLikelihood": value(verdict.logLikelihoods), "threshold": value(verdict.thresholds),
                        "patches": verdict.patchCount]
                    if let crops = verdict.perCropLogLikelihoods { object["cropLogLikelihoods"] = crops.map(value) }
                    if let check = verdict.stability {
                        object["stability"] = ["reencode": check.reencode, "logLikelihood": value(check.logLikelihoods),
                                               "verdict": check.decision.rawValue] as [String: Any]
                    }
                    try emit(object, for: file)
                } else {
                    let comparisons = zip(verdict.logLikelihoods, verdict.thresholds).map { score, threshold in
                        String(format: "%.2f %@ %.2f", score, score >= threshold ? "≥" : "<", threshold)
                    }
                    let label = verdict.decision.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                    var line = "\(label)  \(file.path)  (log-likelihood \(comparisons.joined(separator: ", "))"
                    if let crops = verdict.perCropLogLikelihoods {
                        line += "; \(crops.count) crops, " + crops.map { $0.map { String(format: "%.1f", $0) }.joined(separator: "/") }.joined(separator: " ")
                    }
                    if let check = verdict.stability {
                        line += "; after \(check.reencode): " + check.logLikelihoods.map { String(format: "%.2f", $0) }.joined(separator: ", ")
                    }
                    print(line + ")")
                    for reason in verdict.reasons { print("           \(reason.code): \(reason.message)") }
                }
            case let .failure(error):
                failures += 1
                if json { try emit(["path": file.path, "error": error.description], for: file) } else { print("error      \(error)") }
            }
        }
        printError("\(decisions[.real] ?? 0) real, \(decisions[.generated] ?? 0) generated, \(decisions[.uncertain] ?? 0) uncertain, \(failures) failed")
        if failures > 0 { throw ExitCode.failure }
    }
}
