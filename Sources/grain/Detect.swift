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
            and the batch goes on; so does an image whose score is not finite (NaN or infinite: a degenerate \
            detector), which is never printed as a number. Without --json, one text line per image (reasons \
            indented below). Folders are searched recursively for .jpg, .jpeg and .png files; an entry there with \
            such a name that cannot be read (a symbolic link loop, a dangling link, a FIFO or socket, a name that \
            is not valid UTF-8, shown with its bytes as \\xNN) gets its error row first. Every error row counts as \
            failed in the summary. Exit code 0 when every file was judged, 1 when any failed.

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
    @Option(parsing: .unconditional, help: "Largest image to decode, in pixels (larger ones are reported as errors).")
    var pixelLimit = 89_478_485
    @Option(help: ArgumentHelp("With --json: append rows to this JSON-lines file, skipping inputs that already have a row there (resume a killed run).",
                               valueName: "results.jsonl"))
    var skipDone: String?
    @Argument(help: "Image files or folders (JPEG, PNG).") var paths: [String]

    func validate() throws {
        if skipDone != nil, !json { throw ValidationError("--skip-done needs --json (the results file holds JSON lines)") }
        guard pixelLimit >= 1 else { throw ValidationError("--pixel-limit must be ≥ 1, got \(pixelLimit)") }
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
        // Folder entries that cannot be read get their error rows before the batch.
        let entries = ImageFiles.list(pathBytes: paths.map(CommandLineArguments.pathBytes))
        var unusable = entries.filter { $0.problem != nil }
        var files: [URL] = entries.filter { $0.problem == nil }.map { URL(fileURLWithPath: $0.path) }
        let inputCount = entries.count
        if let results {
            // Each path once, and none that already has a row.
            var seen = Set<String>()
            let pendingUnusable = unusable.filter { !results.isDone($0.path) }
            unusable = pendingUnusable.filter { seen.insert($0.path).inserted }
            let pendingFiles = files.filter { !results.isDone($0.path) }
            files = pendingFiles.filter { seen.insert($0.path).inserted }
            let pendingCount = pendingUnusable.count + pendingFiles.count, judgedCount = unusable.count + files.count
            if results.droppedByteCount > 0 {
                printError("\(results.url.path): dropped a partial last line (\(results.droppedByteCount) bytes) left by an interrupted run")
            }
            let repeats = pendingCount - judgedCount
            printError("\(inputCount - pendingCount) of \(inputCount) inputs already have a row in \(results.url.path)"
                       + (repeats > 0 ? ", \(repeats) listed more than once" : "") + "; judging \(judgedCount)")
        }
        var progress = Progress(total: files.count, unit: "images")
        var failures = 0
        var decisions: [Detector.Verdict.Decision: Int] = [:]
        /// Prints a row, or appends it to the results file; a row that cannot be encoded becomes an
        /// error row. Returns whether `row` itself was written.
        @discardableResult
        func emit(_ row: [String: Any], for path: String) throws -> Bool {
            let encoded = jsonLine(row)
            let line = encoded ?? jsonLine(["path": path, "error": "\(path): the result cannot be encoded as JSON"])!
            guard results != nil else {
                print(line)
                return encoded != nil
            }
            do { try results!.append(line, for: path) } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            return encoded != nil
        }
        for entry in unusable {
            failures += 1
            let message = ImageError.unreadable(path: entry.path, reason: entry.problem ?? "").description
            if json { try emit(["path": entry.path, "error": message], for: entry.path) } else { print("error      \(message)") }
        }
        try model.detect(files: files, pixelLimit: pixelLimit, stability: stability ? .default : nil) { _, file, result in
            defer { progress.advance() }
            switch result {
            case let .success(verdict):
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
                    guard try emit(object, for: file.path) else {
                        failures += 1
                        return
                    }
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
                decisions[verdict.decision, default: 0] += 1
            case let .failure(error):
                failures += 1
                if json { try emit(["path": file.path, "error": error.description], for: file.path) } else { print("error      \(error)") }
            }
        }
        printError("\(decisions[.real] ?? 0) real, \(decisions[.generated] ?? 0) generated, \(decisions[.uncertain] ?? 0) uncertain, \(failures) failed")
        if failures > 0 { throw ExitCode.failure }
    }
}
