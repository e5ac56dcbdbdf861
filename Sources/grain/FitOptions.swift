import ArgumentParser
import Foundation
import Imaging
import NN
import OneClass

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

/// The starting point of a fit's settings.
enum FitPreset: String, ExpressibleByArgument, CaseIterable {
    /// Grain's measured recommendation: mixture by cross-validation, calibrated threshold, crops,
    /// the mean over the transformer's tokens as the feature.
    case recommended
    /// The paper: 6 full components, regularisation 1e-6, the authors' in-sample threshold, whole
    /// images, token 0 as the feature.
    case paper
}

/// `--components auto` or a number.
enum ComponentChoice: ExpressibleByArgument, Equatable {
    case auto
    case fixed(Int)

    init?(argument: String) {
        if argument.lowercased() == "auto" { self = .auto; return }
        guard let value = Int(argument) else { return nil }
        self = .fixed(value)
    }
}

/// The threshold rule of a fit.
enum ThresholdRule: String, ExpressibleByArgument, CaseIterable {
    /// Calibrated on held-out photos for --target-fpr.
    case calibrated
    /// The authors' in-sample rule at --rate.
    case authors
}

extension Detector.Scoring.Aggregation: ExpressibleByArgument {}

/// The environment variable that names default extractor weights (paths separated by `:`).
let weightsEnvironmentVariable = "GRAIN_WEIGHTS"

/// The extractor weights to use: the `--weights` values, else `$GRAIN_WEIGHTS`; a clear error
/// naming the flag when there are neither (Grain ships no weights and looks nowhere else).
func resolvedWeights(_ given: [String]) throws -> [String] {
    if !given.isEmpty { return given }
    if let configured = ProcessInfo.processInfo.environment[weightsEnvironmentVariable], !configured.isEmpty {
        return configured.split(separator: ":").map(String.init)
    }
    throw ValidationError("--weights: no extractor weights given and \(weightsEnvironmentVariable) is not set; pass the authors' checkpoint (e.g. --weights basic.safetensors, or basic.pth) once per member")
}

/// The options that make a ``Detector/FitConfiguration``, shared by `grain fit` and
/// `grain evaluate` so that both build the same detector from the same flags.
struct FitOptions: ParsableArguments {
    @Option(help: "Start from these settings: recommended (mixture by cross-validation, calibrated threshold, 32 crops of 64–256 px, the mean over tokens) or paper (6 full components, 1e-6, the authors' in-sample threshold, whole images, token 0).")
    var preset: FitPreset = .recommended
    @Option(name: .customLong("weights"), help: "Extractor weights, once per member (default: $GRAIN_WEIGHTS; there is no built-in default).")
    var weights: [String] = []
    @Option(parsing: .unconditional, help: "Mixture components: auto (photo-grouped cross-validation over a grid) or a number (recommended: auto; paper: 6).")
    var components: ComponentChoice?
    @Option(help: "Covariance type: full, diagonal, tied or spherical (with --components auto: only this type is tried).")
    var covariance: GaussianMixture.CovarianceType?
    @Option(parsing: .unconditional, help: "Added to every covariance's diagonal (with --components auto: only this value is tried; fixed default 1e-3, paper 1e-6).")
    var regularization: Double?
    @Option(parsing: .unconditional, help: "Cross-validation folds for --components auto (photos are never split across folds).") var folds = 5
    @Option(parsing: .unconditional, help: "EM iterations at most.") var maxIterations = 100
    @Option(parsing: .unconditional, help: "EM restarts (the best is kept).") var initializations = 1
    @Option(help: "Threshold rule: calibrated (on held-out photos, --target-fpr) or authors (in-sample, --rate) (recommended: calibrated; paper: authors).")
    var threshold: ThresholdRule?
    @Option(parsing: .unconditional, help: "The authors' threshold rate: fraction of training samples below the threshold (with --threshold authors).")
    var rate = 0.0005
    @Option(parsing: .unconditional, help: "The fraction of the real photos held out to calibrate the threshold (whole photos; default 0.2).")
    var calibrate: Double?
    @Option(parsing: .unconditional, help: "The false-positive rate on real photos the calibrated threshold aims for (default 0.05).")
    var targetFpr: Double?
    @Option(parsing: .unconditional, help: "Random crops per training photo (0: the whole image; recommended 32, paper 0).") var cropsPerImage: Int?
    @Option(parsing: .unconditional, help: "Largest side of the random crops, in pixels (a multiple of 16).") var cropSize = 256
    @Option(parsing: .unconditional, help: "Smallest side of the random crops, in pixels (a multiple of 16; recommended 64).") var cropMinSize: Int?
    @OptionGroup var tokenizerOptions: TokenizerOptions
    @Option(help: "Benign transformations applied to every fit and calibration photo, drawn per photo (seeded), e.g. jpeg:70-100,downscale:0.5-1,png:0.2 (terms: jpeg:Q or Q1-Q2[@P], downscale:F or F1-F2[@P], png:P, chroma444:Q, chroma422:P; default: none).")
    var augment: String?
    @Option(parsing: .unconditional, help: "Crops scored per image at detection, at fixed grid positions (0: the whole image once; calibration scores its photos the same way).")
    var scoreCrops = 0
    @Option(parsing: .unconditional, help: "Side of the scored crops, in pixels (a multiple of 16; smaller images are scored whole).") var scoreCropSize = 256
    @Option(help: "How the scored crops' log-likelihoods combine: mean, median or minimum.")
    var scoreAggregate: Detector.Scoring.Aggregation = .mean
    @Option(help: "Which output of the extractor's transformer is the feature: token0 (the authors') or mean (over all tokens) (recommended: mean; paper: token0).")
    var readout: String?
    @Option(parsing: .unconditional, help: "Seed for the split, the crops, the augmentation, the folds and the mixture's initialisation.") var seed: UInt64 = 42
    @Option(parsing: .unconditional, help: "Largest image to decode, in pixels (larger ones are skipped).") var pixelLimit = 89_478_485

    func validate() throws {
        if case let .fixed(count)? = components, count < 1 { throw ValidationError("--components must be auto or ≥ 1, got \(count)") }
        let regularizations = Detector.FitConfiguration.regularizationRange
        if let regularization, !regularizations.contains(regularization) {
            throw ValidationError("--regularization must be in [\(regularizations.lowerBound), \(regularizations.upperBound)], got \(regularization) (below, a constant feature gives degenerate log-likelihoods; above, the regularisation swamps the fitted covariance)")
        }
        guard folds >= 2 else { throw ValidationError("--folds must be ≥ 2, got \(folds)") }
        guard maxIterations >= 1 else { throw ValidationError("--max-iterations must be ≥ 1, got \(maxIterations)") }
        guard initializations >= 1 else { throw ValidationError("--initializations must be ≥ 1, got \(initializations)") }
        guard rate >= 0 && rate < 1 else { throw ValidationError("--rate must be in [0, 1), got \(rate)") }
        if let calibrate, !(calibrate > 0 && calibrate < 1) { throw ValidationError("--calibrate must be in (0, 1), got \(calibrate)") }
        if let targetFpr, !(targetFpr > 0 && targetFpr < 1) { throw ValidationError("--target-fpr must be in (0, 1), got \(targetFpr)") }
        if (threshold ?? (preset == .paper ? .authors : .calibrated)) == .authors, calibrate != nil || targetFpr != nil {
            throw ValidationError("--calibrate and --target-fpr need the calibrated threshold; with --threshold authors (or --preset paper) the threshold is the in-sample rule at --rate (add --threshold calibrated)")
        }
        if let cropsPerImage, cropsPerImage < 0 { throw ValidationError("--crops-per-image must be ≥ 0, got \(cropsPerImage)") }
        guard cropSize >= 16, cropSize % 16 == 0 else { throw ValidationError("--crop-size must be a multiple of 16, got \(cropSize)") }
        if let cropMinSize {
            guard cropMinSize >= 16, cropMinSize % 16 == 0, cropMinSize <= cropSize else {
                throw ValidationError("--crop-min-size must be a multiple of 16 from 16 to --crop-size (\(cropSize)), got \(cropMinSize)")
            }
        }
        guard pixelLimit >= 1 else { throw ValidationError("--pixel-limit must be ≥ 1, got \(pixelLimit)") }
        _ = try augmentation()
        _ = try scoring()
        _ = try featureReadout()
    }

    /// The `--readout` setting; without it the preset's, as the library defines it
    /// (``Detector/FitConfiguration/paper`` or ``Detector/FitConfiguration/init()``).
    func featureReadout() throws -> FeatureReadout {
        guard let readout else { return preset == .paper ? Detector.FitConfiguration.paper.readout : Detector.FitConfiguration().readout }
        do { return try FeatureReadout(named: readout) } catch {
            throw ValidationError("--readout: \(error.description)")
        }
    }

    /// The `--augment` setting, nil when not given.
    func augmentation() throws -> ImageAugmentation? {
        guard let augment else { return nil }
        do { return try ImageAugmentation(parsing: augment) } catch {
            throw ValidationError("--augment: \(error.description)")
        }
    }

    /// The `--score-crops`, `--score-crop-size` and `--score-aggregate` setting.
    func scoring() throws -> Detector.Scoring {
        do { return try Detector.Scoring(cropCount: scoreCrops, cropSize: scoreCropSize, aggregation: scoreAggregate) } catch {
            throw ValidationError("--score-crops/--score-crop-size: \(error.description)")
        }
    }

    /// Throws a validation error naming the flag when `photoCount` photos cannot support the
    /// configuration (before any feature is computed): the calibration split must leave photos on
    /// both sides, a fixed mixture needs at least one training sample per component, and
    /// cross-validation needs at least one training photo per fold.
    func check(photoCount: Int, configuration: Detector.FitConfiguration) throws {
        var training = photoCount
        if let calibration = configuration.calibration {
            do {
                training -= try Detector.calibrationSplit(count: photoCount, configuration: configuration).filter { $0 }.count
            } catch {
                throw ValidationError("--calibrate \(calibration.fraction): \(error) (give more photos or another fraction)")
            }
        }
        if configuration.mixtureChoice == .fixed {
            let samplesPerPhoto = max(configuration.crops.count, 1), samples = training * samplesPerPhoto
            let count = configuration.mixture.componentCount
            if count > samples {
                throw ValidationError("--components \(count): the fit has at most \(samples) training samples (\(training) photos × \(samplesPerPhoto)), fewer than the components; give more photos or --crops-per-image, or fewer --components")
            }
        }
        if case let .crossValidated(_, folds) = configuration.mixtureChoice, training < folds {
            throw ValidationError("--components auto: cross-validation with --folds \(folds) needs at least \(folds) training photos, got \(training); give more photos, fewer --folds, or a fixed --components K")
        }
    }

    /// The configuration these flags describe.
    func configuration() throws -> Detector.FitConfiguration {
        let paper = preset == .paper
        var mixture = GaussianMixture.Configuration(componentCount: 1, covarianceType: covariance ?? .full,
                                                    regularization: regularization ?? (paper ? 1e-6 : 1e-3))
        mixture.maxIterations = maxIterations
        mixture.initializationCount = initializations
        let choice: Detector.MixtureChoice
        switch components ?? (paper ? .fixed(6) : .auto) {
        case let .fixed(count):
            mixture.componentCount = count
            choice = .fixed
        case .auto:
            var candidates = MixtureSelection.Grid.standard.candidates
            if let covariance {
                candidates = candidates.filter { $0.covarianceType == covariance }
                if candidates.isEmpty {
                    candidates = [1, 2, 4].map { MixtureSelection.Candidate(componentCount: $0, covarianceType: covariance, regularization: 1e-3) }
                }
            }
            if let regularization {
                var seen = Set<MixtureSelection.Candidate>()
                candidates = candidates.map { MixtureSelection.Candidate(componentCount: $0.componentCount, covarianceType: $0.covarianceType,
                                                                          regularization: regularization) }
                    .filter { seen.insert($0).inserted }
            }
            choice = .crossValidated(grid: MixtureSelection.Grid(candidates: candidates), folds: folds)
        }
        let rule = threshold ?? (paper ? .authors : .calibrated)
        let crops: RandomCrops
        let count = cropsPerImage ?? (paper ? 0 : 32)
        do {
            crops = try RandomCrops(count: count, sizes: (cropMinSize ?? (paper ? cropSize : min(64, cropSize)))...cropSize)
        } catch {
            throw ValidationError("--crops-per-image/--crop-size/--crop-min-size: \(error)")
        }
        return Detector.FitConfiguration(
            mixture: mixture, mixtureChoice: choice, thresholdRate: rate,
            calibration: rule == .calibrated
                ? Detector.Calibration(fraction: calibrate ?? 0.2, targetFalsePositiveRate: targetFpr ?? 0.05) : nil,
            crops: crops, tokenizer: tokenizerOptions.tokenizer, scoring: try scoring(), readout: try featureReadout(), augmentation: try augmentation(),
            seed: seed, pixelLimit: pixelLimit)
    }
}
