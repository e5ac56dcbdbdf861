import ArgumentParser
import Foundation
import NN
import OneClass

/// `grain fit`: fit a detector on real photographs and save it as one file.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a detector on real photographs: features → Gaussian mixture → threshold, saved as one file.",
        discussion: """
            By default (--preset recommended): 20 % of the photos are held out (whole photos) and the threshold \
            is calibrated on them for a 5 % false-positive rate, its realised rate and exact 95 % interval printed \
            and stored (with a warning when the held-out set is too small for the target); the mixture is chosen \
            by photo-grouped cross-validation of held-out likelihood (--components auto), the table printed and \
            stored; each training photo gives 32 random crops of 64–256 px. --preset paper reproduces the \
            authors' settings. One member per --weights file (several: the joint rule, real only if every \
            member agrees). Unreadable images are skipped and listed. The detector file embeds the extractor \
            weights: `grain detect` needs nothing else.
            """)

    @OptionGroup var options: FitOptions
    @Option(name: .customLong("real"), parsing: .upToNextOption, help: "Folders or files of real photographs (JPEG, PNG).")
    var real: [String]
    @Option(name: .customLong("out"), help: "The detector file to write (.safetensors).") var output: String

    func validate() throws {
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationError("--out: the folder \(folder) does not exist")
        }
    }

    func run() throws {
        let weightFiles = try resolvedWeights(options.weights).map { URL(fileURLWithPath: $0) }
        let configuration = try options.configuration()
        var leftOut = 0
        let files: [URL] = try imageFiles(real, leftOut: &leftOut).map { URL(fileURLWithPath: $0) }
        guard !files.isEmpty else { throw ValidationError("--real: no JPEG or PNG files under \(real.joined(separator: ", "))") }
        try options.check(photoCount: files.count, configuration: configuration)

        var progress = Progress(total: files.count, unit: "images")
        var selectionProgress: Progress?
        var augmentationTime = Duration.zero, augmentedPhotos = 0
        let clock = ContinuousClock(), start = clock.now
        let detector: Detector
        do {
            detector = try Detector.fit(realImages: files, weights: weightFiles, configuration: configuration) { event in
                switch event {
                case .extracted: progress.advance()
                case let .augmented(_, duration):
                    augmentationTime += duration
                    augmentedPhotos += 1
                case let .selectingMixture(member, completed, total):
                    if completed == 1 || selectionProgress == nil {
                        printError("choosing the mixture of extractor \(member) by cross-validation (\(total) fits)…")
                        selectionProgress = Progress(total: total, unit: "fits")
                    }
                    selectionProgress?.advance()
                    if completed == total { selectionProgress = nil }
                case let .fittingMixture(member, samples):
                    printError("fitting the mixture of extractor \(member) (\(weightFiles[member].lastPathComponent)) on \(samples) samples…")
                }
            }
        } catch {
            printError("error: \(error)")
            if case .mixture(_, .covarianceNotPositiveDefinite) = error {
                printError("hint: try --regularization 1e-3 (or larger), --covariance diagonal, or fewer --components")
            }
            throw ExitCode.failure
        }
        if configuration.augmentation != nil {
            // The extra cost of --augment, on standard error beside the progress (it varies run to run).
            let seconds = { (duration: Duration) in Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18 }
            printError(String(format: "augmentation: %d photos transformed in %.1f s on the decoding thread (the whole fit took %.1f s; the extractor then sees the transformed photos, same size or smaller)",
                              augmentedPhotos, seconds(augmentationTime), seconds(clock.now - start)))
        }
        try detector.save(to: URL(fileURLWithPath: output))
        print(FitReport(detector: detector, weightFiles: weightFiles, leftOut: leftOut).text)
        print("wrote \(output)")
    }
}

/// What `grain fit` prints about a fitted detector (also used by `grain evaluate`).
struct FitReport {
    var detector: Detector
    var weightFiles: [URL]
    /// Folder entries left out before fitting (unreadable formats, link loops, …; each listed on
    /// standard error), counted beside the images the fit skipped.
    var leftOut = 0

    var text: String {
        guard let summary = detector.fitSummary else { return "" }
        var lines: [String] = []
        for skipped in summary.skipped { printError("skipped \(skipped.path): \(skipped.reason)") }
        lines.append("fitted on \(summary.trainingImageCount) photos (\(summary.trainingSampleCount) samples), \(summary.calibrationImageCount) held out for calibration, \(summary.skipped.count) skipped"
                     + (leftOut > 0 ? " (and \(leftOut) folder \(leftOut == 1 ? "entry" : "entries") left out, listed above)" : ""))
        for (index, selection) in summary.mixtureSelections.enumerated() {
            lines.append("mixture of extractor \(index) chosen by \(selection.rule) (\(selection.groupCount) photos, \(selection.sampleCount) samples):")
            lines.append(selection.table)
        }
        for (index, member) in detector.members.enumerated() {
            let mixture = member.mixture
            let report = member.thresholdReport
            var line = "extractor \(index) (\(member.provenance.weightsFileName)): \(mixture.componentCount) × \(mixture.covarianceType), "
                + String(format: "reg %.0e, ", mixture.configuration.regularization)
                + "\(mixture.converged ? "converged" : "not converged") after \(mixture.iterationCount) iterations, "
                + "threshold \(member.threshold) (\(report.rule)); authors' in-sample threshold \(report.authorsThreshold)"
            if let calibration = report.calibration {
                line += String(format: "; calibrated on %d photos: false-positive rate %.4f, %.0f%% interval [%.4f, %.4f]",
                               calibration.calibrationCount, calibration.realisedFalsePositiveRate, 100 * calibration.confidenceLevel,
                               calibration.falsePositiveRateInterval.lowerBound, calibration.falsePositiveRateInterval.upperBound)
            }
            lines.append(line)
        }
        if let joint = summary.jointCalibration {
            lines.append(String(format: "false-positive rate on %d held-out real photos: %.4f (%d flagged), %.0f%% interval [%.4f, %.4f] (target %.4f)",
                                joint.calibrationCount, joint.realisedFalsePositiveRate, joint.falsePositiveCount, 100 * joint.confidenceLevel,
                                joint.falsePositiveRateInterval.lowerBound, joint.falsePositiveRateInterval.upperBound,
                                summary.configuration.calibration?.targetFalsePositiveRate ?? 0))
        }
        let scoring = detector.scoring
        lines.append(scoring.cropCount == 0 ? "scoring: the whole image once"
                     : "scoring: \(scoring.cropCount) crops of \(scoring.cropSize) px at fixed positions, \(scoring.aggregation) of their log-likelihoods (smaller images whole)")
        lines.append(detector.readout == .firstToken ? "readout: token0, the transformer's first output token (the authors')"
                     : "readout: \(detector.readout) of the transformer's output tokens (not the authors' token 0)")
        if let augmentation = summary.configuration.augmentation { lines.append("augmentation of the fit and calibration photos: \(augmentation)") }
        if let domain = summary.domain {
            let formats = domain.formats.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            var line = "domain: \(domain.imageCount) photos (\(formats)), patch counts \(domain.patchCounts.minimum)–\(domain.patchCounts.maximum)"
            if let qualities = domain.jpegQualities { line += ", JPEG qualities \(qualities.minimum)–\(qualities.maximum)" }
            lines.append(line)
        }
        for warning in summary.warnings { lines.append("warning: \(warning)") }
        return lines.joined(separator: "\n")
    }
}
