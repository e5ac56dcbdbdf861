import ArgumentParser
import Foundation
import OneClass
import Imaging

extension GaussianMixture.CovarianceType: ExpressibleByArgument {
    /// Accepts `full`, `diagonal` (also `diag`), `tied` and `spherical`.
    public init?(argument: String) {
        switch argument.lowercased() {
        case "full": self = .full
        case "diagonal", "diag": self = .diagonal
        case "tied": self = .tied
        case "spherical": self = .spherical
        default: return nil
        }
    }
}

/// `grain fit`: fit a detector on real photographs and save it as one file.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a detector on real photographs: features → Gaussian mixture → threshold, saved as one file.",
        discussion: """
            One member per --weights file (several: the joint rule, real only if every member agrees). The \
            threshold is the authors' in-sample rule (--rate) unless --calibrate holds out a fraction of the real \
            photos and picks the threshold for --target-fpr on them (split across members). Unreadable images are \
            skipped and listed. The detector file embeds the extractor weights: `grain detect` needs nothing else.
            """)

    @Option(name: .customLong("weights"), help: "Extractor weights, once per member (default: the shared basic weights).")
    var weights: [String] = []
    @Option(name: .customLong("real"), parsing: .upToNextOption, help: "Folders or files of real photographs (JPEG, PNG).")
    var real: [String]
    @Option(name: .customLong("out"), help: "The detector file to write (.safetensors).") var output: String
    @Option(help: "Mixture components.") var components = 6
    @Option(help: "Covariance type: full, diagonal, tied or spherical.") var covariance: GaussianMixture.CovarianceType = .full
    @Option(help: "Added to every covariance's diagonal (raise it if a covariance is not positive definite).")
    var regularization = 1e-6
    @Option(help: "EM iterations at most.") var maxIterations = 100
    @Option(help: "EM restarts (the best is kept).") var initializations = 1
    @Option(help: "The authors' threshold rate: fraction of training samples below the threshold.") var rate = 0.0005
    @Option(help: "Hold out this fraction of the real photos to calibrate the threshold (e.g. 0.2).") var calibrate: Double?
    @Option(help: "With --calibrate: the false-positive rate on real photos to aim for.") var targetFpr = 0.01
    @Option(help: "Random crops per training image (0: the whole image).") var cropsPerImage = 0
    @Option(help: "Side of the square random crops, in pixels.") var cropSize = 256
    @OptionGroup var tokenizerOptions: TokenizerOptions
    @Option(help: "Seed for the split, the crops and the mixture's initialisation.") var seed: UInt64 = 42
    @Option(help: "Largest image to decode, in pixels (larger ones are skipped).") var pixelLimit = 89_478_485

    func validate() throws {
        guard cropsPerImage >= 0 else { throw ValidationError("--crops-per-image must be ≥ 0") }
        guard cropSize >= 16 else { throw ValidationError("--crop-size must be ≥ 16") }
        guard components >= 1 else { throw ValidationError("--components must be ≥ 1") }
        if let calibrate, !(calibrate > 0 && calibrate < 1) { throw ValidationError("--calibrate must be in (0, 1)") }
    }

    func run() throws {
        let weightFiles = (weights.isEmpty ? [defaultWeights] : weights).map { URL(fileURLWithPath: $0) }
        let files: [URL] = try imageFiles(real).map { URL(fileURLWithPath: $0) }
        guard !files.isEmpty else { throw ValidationError("no JPEG or PNG files under \(real.joined(separator: ", "))") }
        var configuration = Detector.FitConfiguration(
            componentCount: components, covarianceType: covariance, regularization: regularization, thresholdRate: rate,
            calibration: calibrate.map { Detector.Calibration(fraction: $0, targetFalsePositiveRate: targetFpr) },
            crops: RandomCrops(count: cropsPerImage, size: cropSize), tokenizer: tokenizerOptions.tokenizer,
            seed: seed, pixelLimit: pixelLimit)
        configuration.mixture.maxIterations = maxIterations
        configuration.mixture.initializationCount = initializations

        var progress = Progress(total: files.count, unit: "images")
        let detector: Detector
        do {
            detector = try Detector.fit(realImages: files, weights: weightFiles, configuration: configuration) { event in
                switch event {
                case .extracted: progress.advance()
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
        try detector.save(to: URL(fileURLWithPath: output))

        let summary = detector.fitSummary!
        for skipped in summary.skipped { printError("skipped \(skipped.path): \(skipped.reason)") }
        print("fitted on \(summary.trainingImageCount) images (\(summary.trainingSampleCount) samples), \(summary.skipped.count) skipped")
        for (index, member) in detector.members.enumerated() {
            let mixture = member.mixture
            let report = member.thresholdReport
            var line = "extractor \(index) (\(member.provenance.weightsFileName)): \(mixture.componentCount) × \(mixture.covarianceType), "
                + "\(mixture.converged ? "converged" : "not converged") after \(mixture.iterationCount) iterations, "
                + "threshold \(member.threshold) (\(report.rule)); authors' in-sample threshold \(report.authorsThreshold)"
            if let calibration = report.calibration {
                line += String(format: "; calibrated on %d images: false-positive rate %.4f, %.0f%% interval [%.4f, %.4f]",
                               calibration.calibrationCount, calibration.realisedFalsePositiveRate, 100 * calibration.confidenceLevel,
                               calibration.falsePositiveRateInterval.lowerBound, calibration.falsePositiveRateInterval.upperBound)
            }
            print(line)
        }
        if let joint = summary.jointCalibration {
            print(String(format: "joint rule on %d held-out real images: false-positive rate %.4f (%d flagged), %.0f%% interval [%.4f, %.4f]",
                         joint.calibrationCount, joint.realisedFalsePositiveRate, joint.falsePositiveCount, 100 * joint.confidenceLevel,
                         joint.falsePositiveRateInterval.lowerBound, joint.falsePositiveRateInterval.upperBound))
        }
        print("wrote \(output)")
    }
}
