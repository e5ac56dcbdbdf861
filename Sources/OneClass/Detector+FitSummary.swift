import Foundation

extension Detector {
    /// An image left out of a fit, and why.
    public struct SkippedImage: Codable, Equatable, Sendable {
        /// The file.
        public var path: String
        /// The error, as text.
        public var reason: String

        /// Creates a record.
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// The joint rule's false-positive rate on the calibration images.
    public struct JointCalibration: Codable, Equatable, Sendable {
        /// The number of held-out real images scored.
        public var calibrationCount: Int
        /// How many of them the joint rule flags as generated.
        public var falsePositiveCount: Int
        /// `falsePositiveCount / calibrationCount`.
        public var realisedFalsePositiveRate: Double
        /// The Clopper–Pearson interval for the joint false-positive rate.
        public var falsePositiveRateInterval: ClosedRange<Double>
        /// The interval's coverage.
        public var confidenceLevel: Double
    }

    /// How a detector was fitted: its settings, what it was fitted on, and the calibration.
    public struct FitSummary: Codable, Equatable, Sendable {
        /// The settings used.
        public var configuration: FitConfiguration
        /// The real images the mixtures were fitted on.
        public var trainingImageCount: Int
        /// The samples (images × crops) the mixtures were fitted on.
        public var trainingSampleCount: Int
        /// The held-out real images the thresholds were calibrated on (0 without calibration).
        public var calibrationImageCount: Int
        /// Images that could not be used (unreadable, over the pixel limit, non-finite feature).
        public var skipped: [SkippedImage]
        /// The joint rule on the calibration images, when calibrated.
        public var jointCalibration: JointCalibration?
        /// Member by member, the cross-validation table that chose the mixture (empty with a
        /// fixed mixture).
        public var mixtureSelections: [MixtureSelection]
        /// What the user should know about this detector's stated error rates (e.g. a
        /// calibration set too small for its target); also printed by `grain fit`.
        public var warnings: [String]
        /// The images the detector was fitted and calibrated on, as their files describe them
        /// (after augmentation), with their patch counts: what ``Detector/verdict(logLikelihoods:patchCount:source:perCropLogLikelihoods:reencoded:)``
        /// checks a new image against. Nil for files written before it existed.
        public var domain: DetectorDomain?

        /// Creates a summary.
        public init(configuration: FitConfiguration, trainingImageCount: Int, trainingSampleCount: Int,
                    calibrationImageCount: Int, skipped: [SkippedImage], jointCalibration: JointCalibration?,
                    mixtureSelections: [MixtureSelection] = [], warnings: [String] = [], domain: DetectorDomain? = nil) {
            self.configuration = configuration
            self.trainingImageCount = trainingImageCount
            self.trainingSampleCount = trainingSampleCount
            self.calibrationImageCount = calibrationImageCount
            self.skipped = skipped
            self.jointCalibration = jointCalibration
            self.mixtureSelections = mixtureSelections
            self.warnings = warnings
            self.domain = domain
        }

        enum CodingKeys: String, CodingKey {
            case configuration, trainingImageCount, trainingSampleCount, calibrationImageCount, skipped
            case jointCalibration, mixtureSelections, warnings, domain
        }

        /// Decodes a summary; files written before the selection table, the warnings and the
        /// domain existed read without them.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            configuration = try container.decode(FitConfiguration.self, forKey: .configuration)
            trainingImageCount = try container.decode(Int.self, forKey: .trainingImageCount)
            trainingSampleCount = try container.decode(Int.self, forKey: .trainingSampleCount)
            calibrationImageCount = try container.decode(Int.self, forKey: .calibrationImageCount)
            skipped = try container.decode([SkippedImage].self, forKey: .skipped)
            jointCalibration = try container.decodeIfPresent(JointCalibration.self, forKey: .jointCalibration)
            mixtureSelections = try container.decodeIfPresent([MixtureSelection].self, forKey: .mixtureSelections) ?? []
            warnings = try container.decodeIfPresent([String].self, forKey: .warnings) ?? []
            domain = try container.decodeIfPresent(DetectorDomain.self, forKey: .domain)
        }
    }

    /// What ``fit(realImages:weights:configuration:progress:)`` is doing, for progress reports.
    public enum FitEvent: Sendable {
        /// `completed` of `total` images have been decoded and their features extracted.
        case extracted(completed: Int, total: Int)
        /// Photo `photo` was transformed by ``FitConfiguration/augmentation`` in `duration`
        /// (measured on the decoding thread, beside the extraction; reported so that the extra
        /// cost of augmenting can be stated).
        case augmented(photo: Int, duration: Duration)
        /// Cross-validation for member `member`: `completed` of `total` fits done.
        case selectingMixture(member: Int, completed: Int, total: Int)
        /// EM is running for member `member` on `samples` features.
        case fittingMixture(member: Int, samples: Int)
    }
}
