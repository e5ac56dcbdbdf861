import Foundation
import Imaging
import OneClass
import Tensor

/// A test sampling out of range (from Swift or a file).
public enum TestSamplingError: Error, Equatable, CustomStringConvertible {
    /// The number of crops per image is negative.
    case negativeCropCount(Int)
    /// The crop side is below 1.
    case nonPositiveCropSize(Int)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .negativeCropCount(let count): "test sampling: \(count) crops per image; it must be ≥ 0"
        case .nonPositiveCropSize(let size): "test sampling: crop size \(size); it must be ≥ 1"
        }
    }
}

/// How test images become samples: whole, or several random crops of a fixed size.
///
/// Random crops let large photographs be compared with small generated images at the same size
/// and native resolution (no resampling); an image no larger than a crop in both directions is
/// one whole-image sample. Crops are seeded per source and file, so every perturbation of a
/// sample is a perturbation of the same pixels, and reruns pick the same crops.
public struct TestSampling: Codable, Equatable, Sendable {
    /// Random crops per image larger than ``cropSize`` (0: every image whole).
    public var cropsPerImage: Int
    /// The side of the square crops (clipped to the image).
    public var cropSize: Int
    /// The seed the crop positions derive from.
    public var seed: UInt64

    /// Creates a sampling.
    ///
    /// - Precondition: `cropsPerImage ≥ 0`, `cropSize ≥ 1` (check values from users with
    ///   ``validate(cropsPerImage:cropSize:)``; `grain evaluate` refuses them as options).
    public init(cropsPerImage: Int = 0, cropSize: Int = 256, seed: UInt64 = 0) {
        precondition(cropsPerImage >= 0 && cropSize >= 1, "TestSampling: cropsPerImage \(cropsPerImage), cropSize \(cropSize)")
        self.cropsPerImage = cropsPerImage
        self.cropSize = cropSize
        self.seed = seed
    }

    /// Decodes a sampling and validates it.
    ///
    /// - Throws: ``TestSamplingError`` for a negative crop count or a crop side below 1.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cropsPerImage = try c.decode(Int.self, forKey: .cropsPerImage)
        cropSize = try c.decode(Int.self, forKey: .cropSize)
        seed = try c.decode(UInt64.self, forKey: .seed)
        try Self.validate(cropsPerImage: cropsPerImage, cropSize: cropSize)
    }

    private enum CodingKeys: String, CodingKey { case cropsPerImage, cropSize, seed }

    /// Throws unless `cropsPerImage ≥ 0` and `cropSize ≥ 1` (what ``init(cropsPerImage:cropSize:seed:)``
    /// requires); call it on values from users or files before creating a sampling.
    public static func validate(cropsPerImage: Int, cropSize: Int) throws(TestSamplingError) {
        guard cropsPerImage >= 0 else { throw .negativeCropCount(cropsPerImage) }
        guard cropSize >= 1 else { throw .nonPositiveCropSize(cropSize) }
    }

    /// Every image whole.
    public static let wholeImages = TestSampling()

    /// The samples of a `width × height` image: `[nil]` (the whole image) or ``cropsPerImage``
    /// random crops of ``cropSize`` (a side shorter than it kept whole), drawn by Imaging's
    /// `RandomCrops` from `RandomGenerator(seed: testCropSeed, stream: stream)`, where
    /// `testCropSeed` is stream 70,000 of ``seed`` (Evaluation's test-crop stream) and `stream`
    /// tells images apart (``Evaluation/features(files:perturbations:sampling:source:memberCount:pixelLimit:extract:progress:)``
    /// passes `source · 2³² + file index`).
    public func crops(width: Int, height: Int, stream: UInt64) -> [CropRectangle?] {
        guard cropsPerImage > 0, width > cropSize || height > cropSize else { return [nil] }
        var generator = RandomGenerator(seed: RandomGenerator.derivedSeed(seed, stream: EvaluationStreams.testCrops), stream: stream)
        return RandomCrops(uncheckedCount: cropsPerImage, sizes: cropSize...cropSize)
            .rectangles(width: width, height: height, using: &generator)
    }
}

/// The features of a set of samples: one row per sample for each detector member.
public struct SampleFeatures: Sendable {
    /// One name per sample: the file path, with `#x,y,WxH` when the sample is a crop.
    public var names: [String]
    /// `[member][sample]` → the member's feature of the sample.
    public var rows: [[[Float]]]

    /// Creates empty features for `memberCount` members.
    public init(memberCount: Int) {
        names = []
        rows = Array(repeating: [], count: memberCount)
    }

    /// Creates features from names and per-member rows.
    ///
    /// - Precondition: every member has one row per name.
    public init(names: [String], rows: [[[Float]]]) {
        precondition(rows.allSatisfy { $0.count == names.count }, "SampleFeatures: \(names.count) names, rows \(rows.map(\.count))")
        self.names = names
        self.rows = rows
    }

    /// The number of samples.
    public var count: Int { names.count }

    /// Appends one sample.
    ///
    /// - Precondition: one feature per member.
    public mutating func append(name: String, features: [[Float]]) {
        precondition(features.count == rows.count, "SampleFeatures.append: \(features.count) features for \(rows.count) members")
        names.append(name)
        for (member, feature) in features.enumerated() { rows[member].append(feature) }
    }

    /// Member `member`'s features as a matrix `[n, d]`.
    public func matrix(member: Int) -> Matrix {
        let memberRows = rows[member]
        return Matrix(rows: memberRows.count, columns: memberRows.first?.count ?? 0, elements: memberRows.flatMap { $0.map(Double.init) })
    }
}

/// The pieces of an evaluation that do not depend on how features are made: test samples under
/// perturbations, and scores from features with one or several mixtures.
public enum Evaluation {
    /// Extracts the features of every test sample of `files` under every perturbation, one
    /// feature per sample (``features(files:perturbations:sampling:source:memberCount:pixelLimit:extractRegions:progress:)``
    /// with one region per sample).
    ///
    /// - Parameters:
    ///   - files: The image files of one source.
    ///   - perturbations: The settings, e.g. `[.original] + ImagePerturbation.paperSweep`.
    ///   - sampling: Whole images or random crops.
    ///   - source: The source's index in the evaluation (its files' crop streams are its own).
    ///   - memberCount: How many features `extract` returns per sample.
    ///   - pixelLimit: The largest image to decode.
    ///   - extract: One feature per member of an image.
    ///   - progress: Called after each file.
    /// - Returns: One ``SampleFeatures`` per perturbation, and the files that failed.
    public static func features(files: [URL], perturbations: [ImagePerturbation], sampling: TestSampling, source: Int = 0,
                                memberCount: Int, pixelLimit: Int? = Image.defaultPixelLimit,
                                extract: (Image) -> [[Float]], progress: (() -> Void)? = nil)
        -> (settings: [SampleFeatures], failures: [String: String]) {
        features(files: files, perturbations: perturbations, sampling: sampling, source: source, memberCount: memberCount,
                 pixelLimit: pixelLimit, extractRegions: { [extract($0)] }, progress: progress)
    }

    /// Extracts the features of every test sample of `files` under every perturbation, each
    /// sample as one or several scored regions (a detector that scores `K` crops per image).
    ///
    /// Each file is decoded once; its samples (``TestSampling/crops(width:height:stream:)`` with
    /// stream `EvaluationStreams.testCrops(source:file:)`) are perturbed in memory for each setting, then
    /// `extractRegions` turns each perturbed sample into its regions' features, one per member
    /// for each region. A sample with one region is one row named after it; a sample with `R > 1`
    /// regions is `R` rows named `sample#region0` … (``regionSuffix``), which
    /// ``aggregatedByImage(names:perMember:scoring:)`` folds back into one score per sample. A
    /// file that cannot be decoded or perturbed is left out of every setting and listed in
    /// `failures` with the reason.
    ///
    /// - Parameters:
    ///   - files: The image files of one source.
    ///   - perturbations: The settings, e.g. `[.original] + ImagePerturbation.paperSweep`.
    ///   - sampling: Whole images or random crops.
    ///   - source: The source's index in the evaluation (its files' crop streams are its own).
    ///   - memberCount: How many features each region has (one per member).
    ///   - pixelLimit: The largest image to decode.
    ///   - extractRegions: `[region][member]` → the member's feature of that region of an image.
    ///   - progress: Called after each file.
    /// - Returns: One ``SampleFeatures`` per perturbation, and the files that failed.
    public static func features(files: [URL], perturbations: [ImagePerturbation], sampling: TestSampling, source: Int = 0,
                                memberCount: Int, pixelLimit: Int? = Image.defaultPixelLimit,
                                extractRegions: (Image) -> [[[Float]]], progress: (() -> Void)? = nil)
        -> (settings: [SampleFeatures], failures: [String: String]) {
        var settings = Array(repeating: SampleFeatures(memberCount: memberCount), count: perturbations.count)
        var failures: [String: String] = [:]
        for (index, file) in files.enumerated() {
            defer { progress?() }
            do {
                let image = try Image(contentsOf: file, pixelLimit: pixelLimit)
                let crops = sampling.crops(width: image.width, height: image.height, stream: EvaluationStreams.testCrops(source: source, file: index))
                var perSetting = Array(repeating: SampleFeatures(memberCount: memberCount), count: perturbations.count)
                for crop in crops {
                    let sample = crop.map { image.cropped(x: $0.x, y: $0.y, width: $0.width, height: $0.height) } ?? image
                    let name = crop.map { "\(file.path)#\($0.label)" } ?? file.path
                    var extracted: [ImagePerturbation: [[[Float]]]] = [:]   // a setting listed twice is extracted once
                    for (settingIndex, perturbation) in perturbations.enumerated() {
                        let regions = try extracted[perturbation] ?? extractRegions(perturbation.applied(to: sample))
                        extracted[perturbation] = regions
                        for (region, features) in regions.enumerated() {
                            perSetting[settingIndex].append(name: regions.count == 1 ? name : name + regionSuffix + "\(region)", features: features)
                        }
                    }
                }
                for settingIndex in perturbations.indices {
                    settings[settingIndex].names += perSetting[settingIndex].names
                    for member in 0..<memberCount { settings[settingIndex].rows[member] += perSetting[settingIndex].rows[member] }
                }
            } catch {
                failures[file.path] = "\(error)"
            }
        }
        return (settings, failures)
    }

    /// What separates a sample's name from its region's index (`photo.jpg#region3`).
    public static let regionSuffix = "#region"

    /// Folds the rows of a multi-region sample (consecutive names `sample#region0`, `#region1`…)
    /// into one score per sample and member with the detector's `Detector.Scoring.aggregate(_:)`,
    /// the rule `Detector.score` applies; a one-region sample keeps its score.
    ///
    /// - Parameters:
    ///   - names: One name per row, as ``features(files:perturbations:sampling:source:memberCount:pixelLimit:extractRegions:progress:)`` names them.
    ///   - perMember: `[member][row]` log-likelihoods.
    ///   - scoring: The detector's scoring.
    /// - Returns: The sample names and `[member][sample]` aggregated log-likelihoods.
    public static func aggregatedByImage(names: [String], perMember: [[Double]], scoring: Detector.Scoring)
        -> (names: [String], perMember: [[Double]]) {
        var sampleNames: [String] = [], groups: [[Int]] = []
        for (row, name) in names.enumerated() {
            let sample = name.range(of: regionSuffix, options: .backwards).map { String(name[..<$0.lowerBound]) } ?? name
            if sample != name, sampleNames.last == sample { groups[groups.count - 1].append(row) } else {
                sampleNames.append(sample)
                groups.append([row])
            }
        }
        return (sampleNames, perMember.map { scores in groups.map { scoring.aggregate($0.map { scores[$0] }) } })
    }

    /// Scores features with one mixture per member.
    ///
    /// The combined score is the log-likelihood itself for one member, and for several the
    /// **joint margin** `minₘ (ℓₘ − tₘ)`: it is ≥ 0 exactly when every member's log-likelihood
    /// clears its threshold, so at threshold 0 it reproduces `JointThreshold` (real only if all
    /// agree). Its ranking (AUC, AP) mixes the members' log-likelihood scales as they are,
    /// unnormalised.
    ///
    /// - Returns: Each member's log-likelihoods `[member][sample]`, the combined score per sample,
    ///   and the combined threshold (the member's threshold, or 0 for the joint margin).
    /// - Throws: `GaussianMixtureError` for a feature-count mismatch or a non-finite feature.
    /// - Precondition: one mixture and one threshold per member.
    public static func scores(_ features: SampleFeatures, mixtures: [GaussianMixture], thresholds: [Double]) throws(GaussianMixtureError)
        -> (perMember: [[Double]], combined: [Double], combinedThreshold: Double) {
        precondition(mixtures.count == features.rows.count && thresholds.count == mixtures.count,
                     "Evaluation.scores: \(features.rows.count) members' features, \(mixtures.count) mixtures, \(thresholds.count) thresholds")
        var perMember: [[Double]] = []
        for (member, mixture) in mixtures.enumerated() {
            perMember.append(features.count == 0 ? [] : try mixture.scoreSamples(features.matrix(member: member)))
        }
        if mixtures.count == 1 { return (perMember, perMember[0], thresholds[0]) }
        return (perMember, jointMargins(perMember: perMember, thresholds: thresholds), 0)
    }

    /// The joint margin `minₘ (ℓₘ − tₘ)` of every sample (see ``scores(_:mixtures:thresholds:)``).
    ///
    /// - Parameters:
    ///   - perMember: `[member][sample]` log-likelihoods.
    ///   - thresholds: One threshold per member.
    /// - Returns: One margin per sample.
    public static func jointMargins(perMember: [[Double]], thresholds: [Double]) -> [Double] {
        (0..<(perMember.first?.count ?? 0)).map { sample in zip(perMember, thresholds).map { $0[sample] - $1 }.min()! }
    }
}
