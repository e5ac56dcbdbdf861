import Foundation
import Imaging
import NN
import Tensor

extension Detector {
    /// The features a fit is made of, extracted once: every training sample's and every
    /// calibration sample's feature for each member, with the photo each came from.
    ///
    /// ``Detector/fit(features:extractors:configuration:progress:)`` fits from them, so features
    /// can be saved and refitted with other mixture or threshold settings in seconds.
    public struct FitFeatures: Sendable {
        /// `training[m]`: member `m`'s training features, row-major `[trainingSampleCount, 528]`.
        public var training: [[Float]]
        /// The photo (index into the fit's image list) of each training sample.
        public var trainingGroups: [Int]
        /// `calibration[m]`: member `m`'s calibration features, row-major `[calibration samples, 528]`.
        public var calibration: [[Float]]
        /// The photo of each calibration sample; a photo's samples are scored together, as one
        /// image is at detection time.
        public var calibrationGroups: [Int]
        /// Images that could not be used.
        public var skipped: [SkippedImage]
        /// Every training and calibration photo's file description (after augmentation) and
        /// whole-image patch count, for the detector's domain record (empty: no record).
        public var domainImages: [(description: ImageSourceDescription, patchCount: Int)]
        /// What the extraction found that the fit's summary must warn about (photos that are
        /// pixel-identical copies of others); copied into ``FitSummary/warnings``.
        public var warnings: [String]

        /// An empty set for `memberCount` members.
        public init(memberCount: Int) {
            training = Array(repeating: [], count: memberCount)
            trainingGroups = []
            calibration = Array(repeating: [], count: memberCount)
            calibrationGroups = []
            skipped = []
            domainImages = []
            warnings = []
        }

        /// The features of a split: the training crops of the photos not held out and the
        /// detection-time samples of those held out (`isCalibration[photo.index]`).
        public init(photos: [PhotoFeatures], isCalibration: [Bool]) {
            self.init(memberCount: photos.first?.crops.count ?? 0)
            let d = LowLevelFeatureExtractor.featureDimension
            for photo in photos {
                let held = isCalibration[photo.index]
                let rows = held ? photo.scored : photo.crops
                for member in rows.indices {
                    if held { calibration[member] += rows[member] } else { training[member] += rows[member] }
                }
                let count = (rows.first?.count ?? 0) / d
                if held {
                    calibrationGroups += Array(repeating: photo.index, count: count)
                } else {
                    trainingGroups += Array(repeating: photo.index, count: count)
                }
                if count > 0 { domainImages.append((photo.source, photo.patchCount)) }
            }
        }

        /// The number of members.
        public var memberCount: Int { training.count }
        /// The number of training samples.
        public var trainingSampleCount: Int { trainingGroups.count }
        /// The number of distinct training photos.
        public var trainingImageCount: Int { Set(trainingGroups).count }
        /// The number of distinct calibration photos.
        public var calibrationImageCount: Int { Set(calibrationGroups).count }

        /// Member `member`'s training features as a matrix `[samples, 528]`.
        public func trainingMatrix(member: Int) -> Matrix {
            Matrix(rows: trainingSampleCount, columns: LowLevelFeatureExtractor.featureDimension,
                   elements: training[member].map(Double.init))
        }

        /// Member `member`'s calibration features as a matrix `[samples, 528]`.
        public func calibrationMatrix(member: Int) -> Matrix {
            Matrix(rows: calibrationGroups.count, columns: LowLevelFeatureExtractor.featureDimension,
                   elements: calibration[member].map(Double.init))
        }
    }

    /// Fits a detector on real photographs: one member per weights file, each a mixture fitted
    /// to that extractor's features and a threshold.
    ///
    /// 1. The photos are split at random (seeded) into training photos and, with
    ///    ``FitConfiguration/calibration`` (on by default), held-out calibration photos.
    /// 2. Features (``fitFeatures(realImages:extractors:configuration:progress:)``): each
    ///    training photo gives ``FitConfiguration/crops``; each calibration photo is scored as at
    ///    detection time.
    /// 3. The mixture of each member: fixed, or chosen by photo-grouped cross-validation
    ///    (``MixtureSelection``, the default), then fitted by EM on all training features.
    /// 4. Thresholds: calibrated on the held-out photos for the target rate (split across
    ///    members), with the realised rate, its exact interval and a warning when the
    ///    calibration set is too small for the target; or the authors' in-sample rule.
    ///
    /// Images that cannot be read (or give a non-finite feature) are skipped and listed in
    /// ``FitSummary/skipped``; a fit never fails because of one bad file.
    ///
    /// - Parameters:
    ///   - realImages: real photographs (JPEG or PNG).
    ///   - weights: one extractor weight file per member (the authors' `.pth` or `.safetensors`).
    ///   - configuration: the settings (Grain's recommendation by default; ``FitConfiguration/paper``
    ///     for the authors').
    ///   - progress: called on the calling thread after each image and during the mixture fits.
    /// - Throws: ``DetectorError/weights(path:reason:)``, ``DetectorError/invalidConfiguration(_:)``,
    ///   ``DetectorError/notEnoughImages(_:)`` or ``DetectorError/mixture(member:_:)`` (for a
    ///   covariance that is not positive definite, raise the regularisation or use a diagonal
    ///   covariance).
    public static func fit(realImages: [URL], weights: [URL], configuration: FitConfiguration = FitConfiguration(),
                           progress: ((FitEvent) -> Void)? = nil) throws(DetectorError) -> Detector {
        try configuration.validateForFitting(memberCount: weights.count)
        var extractors: [(LowLevelFeatureExtractor, Provenance)] = []
        for url in weights {
            let extractor: LowLevelFeatureExtractor
            let digest: String
            do {
                extractor = try LowLevelFeatureExtractor(contentsOf: url)
                digest = try SHA256.hexDigest(ofFileAt: url)
            } catch {
                throw .weights(path: url.path, reason: "\(error)")
            }
            extractors.append((extractor, Provenance(weightsFileName: url.lastPathComponent, weightsSHA256: digest,
                                                     parametersSHA256: parametersDigest(of: extractor))))
        }
        return try fit(realImages: realImages, extractors: extractors, configuration: configuration, progress: progress)
    }

    /// ``fit(realImages:weights:configuration:progress:)`` with extractors already loaded, each
    /// with the provenance to record.
    public static func fit(realImages: [URL], extractors: [(LowLevelFeatureExtractor, Provenance)],
                           configuration: FitConfiguration = FitConfiguration(),
                           progress: ((FitEvent) -> Void)? = nil) throws(DetectorError) -> Detector {
        try configuration.validateForFitting(memberCount: extractors.count)
        let features = try fitFeatures(realImages: realImages, extractors: extractors.map(\.0), configuration: configuration,
                                       progress: progress)
        return try fit(features: features, extractors: extractors, configuration: configuration, progress: progress)
    }

    /// Which of `count` photos are held out for calibration (seeded): `round(fraction · count)`
    /// of them, or none without calibration.
    ///
    /// - Throws: ``DetectorError/notEnoughImages(_:)`` when the split leaves either side empty.
    public static func calibrationSplit(count: Int, configuration: FitConfiguration) throws(DetectorError) -> [Bool] {
        var isCalibration = [Bool](repeating: false, count: count)
        guard let calibration = configuration.calibration else { return isCalibration }
        let held = Int((Double(count) * calibration.fraction).rounded())
        guard held >= 1, held < count else {
            throw .notEnoughImages("calibrating on a fraction \(calibration.fraction) of \(count) images leaves \(held) for calibration and \(count - held) for fitting; both need at least one")
        }
        var order = Array(0..<count)
        var splitGenerator = RandomGenerator(seed: configuration.seed, stream: FitStreams.calibrationSplit)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, min(Int(splitGenerator.nextUnitDouble() * Double(i + 1)), i))
        }
        for index in order.prefix(held) { isCalibration[index] = true }
        return isCalibration
    }

    /// Decodes the photos (on a second thread, ahead of the extractors), splits them and
    /// extracts every training and calibration feature once.
    ///
    /// Randomness (OneClass's `FitStreams`): the split from the seed's stream 1; each training
    /// image's crops from stream `1000 + its index in realImages` (`2⁴¹ + index` from the 39,000th
    /// photo on), each photo's augmentation from stream `2⁴⁰ + its index` (so neither depends on
    /// which other files could be read).
    ///
    /// - Throws: ``DetectorError/notEnoughImages(_:)`` for a split that leaves a side empty or
    ///   when no training (or calibration) image could be used.
    public static func fitFeatures(realImages: [URL], extractors: [LowLevelFeatureExtractor],
                                   configuration: FitConfiguration,
                                   progress: ((FitEvent) -> Void)? = nil) throws(DetectorError) -> FitFeatures {
        let isCalibration = try calibrationSplit(count: realImages.count, configuration: configuration)
        let (photos, skipped) = photoFeatures(realImages: realImages, extractors: extractors, configuration: configuration,
                                              crops: { !isCalibration[$0] }, scored: { isCalibration[$0] }, progress: progress)
        var features = FitFeatures(photos: photos, isCalibration: isCalibration)
        features.skipped = skipped
        guard features.trainingSampleCount > 0 else {
            throw .notEnoughImages("none of the \(realImages.count - isCalibration.filter { $0 }.count) training images could be used (\(skipped.count) skipped)")
        }
        if let warning = try duplicateWarning(photos: photos, isCalibration: isCalibration, paths: realImages.map(\.path)) {
            features.warnings.append(warning)
        }
        if configuration.calibration != nil && features.calibrationGroups.isEmpty {
            throw .notEnoughImages("none of the calibration images could be used (\(skipped.count) skipped)")
        }
        return features
    }

    /// One photo's features, as a fit uses them: its training crops and its detection-time
    /// samples (either may be absent when not asked for).
    public struct PhotoFeatures: Sendable {
        /// The photo's index in the list it was extracted from.
        public var index: Int
        /// What the photo's file is (after augmentation: the re-encoded file's description).
        public var source: ImageSourceDescription
        /// The whole photo's patch tokens (after augmentation and the tokenizer's cap).
        public var patchCount: Int
        /// `crops[m]`: member `m`'s features of the photo's training crops, row-major `[K, 528]`
        /// (empty when not extracted).
        public var crops: [[Float]]
        /// `scored[m]`: member `m`'s features of the regions detection scores
        /// (``FitConfiguration/scoring``), row-major `[regions, 528]` (empty when not extracted).
        public var scored: [[Float]]
        /// The SHA-256 of the photo's size and decoded pixels (before augmentation): equal for
        /// two files that decode to the same image, whatever their names or encodings.
        public var pixelDigest: String = ""
    }

    /// Extracts, for each photo, the features of its training crops (when `crops(index)`) and of
    /// the regions detection scores (when `scored(index)`, with ``Scoring/tokens(of:tokenizer:)``
    /// of ``FitConfiguration/scoring``); the one extraction loop behind every fit. With
    /// ``FitConfiguration/augmentation`` each photo is first transformed once (seeded per photo,
    /// on the decoding thread) and both its crops and its scores come from the transformed photo.
    /// Photos that cannot be read, described, augmented or give a non-finite feature are returned
    /// in `skipped` and have no entry.
    public static func photoFeatures(realImages: [URL], extractors: [LowLevelFeatureExtractor], configuration: FitConfiguration,
                                     crops wantsCrops: @escaping (Int) -> Bool, scored wantsScored: @escaping (Int) -> Bool,
                                     progress: ((FitEvent) -> Void)? = nil) -> (photos: [PhotoFeatures], skipped: [SkippedImage]) {
        var photos: [PhotoFeatures] = []
        var skipped: [SkippedImage] = []
        let tokenizer = configuration.tokenizer, crops = configuration.crops, pixelLimit = configuration.pixelLimit
        let seed = configuration.seed, scoring = configuration.scoring, augmentation = configuration.augmentation
        let readout = configuration.readout
        Prefetcher.run(count: realImages.count, lookahead: 2, prepare: { index in
            Result { () throws(DetectorError) -> (Image, ImageSourceDescription, String, Duration?) in
                let (image, source) = try load(realImages[index], pixelLimit: pixelLimit)
                let digest = "\(image.width)x\(image.height)x\(image.channels):\(image.pixelDigest)"
                guard let augmentation else { return (image, source, digest, nil) }
                var generator = RandomGenerator(seed: seed, stream: FitStreams.augmentation(photo: index))
                do throws(ImageError) {
                    let clock = ContinuousClock(), start = clock.now
                    let augmented = try augmentation.applied(to: image, using: &generator)
                    let description = try augmented.description(source: source)
                    return (augmented.image, description, digest, clock.now - start)
                } catch {
                    throw .image(error)
                }
            }
        }, consume: { index, decoded in
            defer { progress?(.extracted(completed: index + 1, total: realImages.count)) }
            let path = realImages[index].path
            let image: Image, source: ImageSourceDescription, digest: String
            switch decoded {
            case let .success((decodedImage, decodedSource, decodedDigest, augmentationTime)):
                image = decodedImage
                source = decodedSource
                digest = decodedDigest
                if let augmentationTime { progress?(.augmented(photo: index, duration: augmentationTime)) }
            case let .failure(error):
                skipped.append(SkippedImage(path: path, reason: error.description))
                return
            }
            func extract(_ tokens: Tensor) -> [[Float]]? {
                let extracted = extractors.map { $0.features(tokens, readout: readout).scalars }
                if let bad = extracted.firstIndex(where: { !$0.allSatisfy(\.isFinite) }) {
                    skipped.append(SkippedImage(path: path, reason: DetectorError.nonFiniteFeature(path: path, member: bad).description))
                    return nil
                }
                return extracted
            }
            var photo = PhotoFeatures(index: index, source: source,
                                      patchCount: tokenizer.patchCount(width: image.width, height: image.height),
                                      crops: Array(repeating: [], count: extractors.count),
                                      scored: Array(repeating: [], count: extractors.count), pixelDigest: digest)
            if wantsCrops(index) {
                var cropGenerator = RandomGenerator(seed: seed, stream: FitStreams.crops(photo: index))
                // Crops of several sizes have different patch counts: one forward pass per crop.
                for crop in crops.crops(of: image, using: &cropGenerator) {
                    guard let extracted = extract(tokenizer.tokens(crop)) else { return }
                    for member in extracted.indices { photo.crops[member] += extracted[member] }
                }
            }
            if wantsScored(index) {
                guard let extracted = extract(scoring.tokens(of: image, tokenizer: tokenizer)) else { return }
                photo.scored = extracted
            }
            photos.append(photo)
        })
        return (photos, skipped)
    }

    /// Fits a detector from features already extracted (by
    /// ``fitFeatures(realImages:extractors:configuration:progress:)`` or read back from a file):
    /// steps 3 and 4 of ``fit(realImages:weights:configuration:progress:)``. The same features
    /// and configuration always give the same detector.
    ///
    /// - Throws: ``DetectorError/invalidConfiguration(_:)`` when the features do not match the
    ///   extractors or the configuration, ``DetectorError/notEnoughImages(_:)`` for too few
    ///   photos to cross-validate, ``DetectorError/mixture(member:_:)`` when EM fails.
    public static func fit(features: FitFeatures, extractors: [(LowLevelFeatureExtractor, Provenance)],
                           configuration: FitConfiguration,
                           progress: ((FitEvent) -> Void)? = nil) throws(DetectorError) -> Detector {
        try configuration.validateForFitting(memberCount: extractors.count)
        let d = LowLevelFeatureExtractor.featureDimension
        guard features.memberCount == extractors.count,
              features.training.allSatisfy({ $0.count == features.trainingSampleCount * d }),
              features.calibration.allSatisfy({ $0.count == features.calibrationGroups.count * d }) else {
            throw .invalidConfiguration("the features are for \(features.memberCount) members with inconsistent sizes; \(extractors.count) extractors were given")
        }
        guard features.trainingSampleCount > 0 else { throw .notEnoughImages("no training samples") }
        if configuration.calibration != nil, features.calibrationGroups.isEmpty {
            throw .notEnoughImages("calibration was asked for, but there are no calibration samples")
        }
        let memberCount = extractors.count
        let calibrationImages = orderedDistinct(features.calibrationGroups)
        var members: [Member] = []
        var selections: [MixtureSelection] = []
        var warnings = features.warnings
        var calibrationScores = [[Double]](repeating: [], count: calibrationImages.count)
        for (member, (extractor, provenance)) in extractors.enumerated() {
            let x = features.trainingMatrix(member: member)
            var mixtureConfiguration = configuration.mixture
            if case let .crossValidated(grid, folds) = configuration.mixtureChoice {
                let selection = try MixtureSelection.select(
                    samples: x, groups: features.trainingGroups, grid: grid, folds: folds, base: configuration.mixture,
                    seed: RandomGenerator.derivedSeed(configuration.seed, stream: FitStreams.selection(member: member))) { completed, total in
                        progress?(.selectingMixture(member: member, completed: completed, total: total))
                    }
                selections.append(selection)
                mixtureConfiguration = selection.chosen.configuration(base: configuration.mixture)
            }
            if let warning = sampleCountWarning(member: member, sampleCount: x.rows, configuration: mixtureConfiguration) {
                warnings.append(warning)
            }
            progress?(.fittingMixture(member: member, samples: x.rows))
            var generator = RandomGenerator(seed: configuration.seed, stream: FitStreams.mixture(member: member))
            let mixture: GaussianMixture
            let trainingScores: [Double]
            do {
                mixture = try GaussianMixture(fitting: x, configuration: mixtureConfiguration, using: &generator)
                trainingScores = try mixture.scoreSamples(x)
            } catch {
                throw .mixture(member: member, error)
            }
            let authorsThreshold = LikelihoodThreshold.authors(trainingLogLikelihoods: trainingScores,
                                                               rate: configuration.thresholdRate)
            var report = ThresholdReport(rule: .authors, rate: configuration.thresholdRate, authorsThreshold: authorsThreshold,
                                         trainingSampleCount: x.rows)
            var threshold = authorsThreshold
            if let calibration = configuration.calibration {
                let sampleScores: [Double]
                do { sampleScores = try mixture.scoreSamples(features.calibrationMatrix(member: member)) } catch {
                    throw .mixture(member: member, error)
                }
                let imageScores = aggregate(sampleScores, groups: features.calibrationGroups, order: calibrationImages,
                                            scoring: configuration.scoring)
                if let index = imageScores.firstIndex(where: { !$0.isFinite }) {
                    throw .nonFiniteScore(path: "calibration photo \(calibrationImages[index])", member: member,
                                          value: imageScores[index])
                }
                for (image, score) in imageScores.enumerated() { calibrationScores[image].append(score) }
                let calibrated = CalibratedThreshold(
                    calibrationLogLikelihoods: imageScores,
                    targetFalsePositiveRate: calibration.targetFalsePositiveRate / Double(memberCount),
                    confidenceLevel: calibration.confidenceLevel)
                report.rule = .calibrated
                report.calibration = calibrated
                do {
                    report.band = try UncertaintyBand(calibration: calibrated, calibrationLogLikelihoods: imageScores)
                } catch {
                    throw .invalidConfiguration("member \(member)'s uncertainty band: \(error.description)")
                }
                threshold = calibrated.threshold
            }
            members.append(Member(extractor: extractor, mixture: mixture, threshold: threshold,
                                  provenance: provenance, thresholdReport: report))
        }
        var joint: JointCalibration?
        if let calibration = configuration.calibration {
            let rule = JointThreshold(thresholds: members.map(\.threshold))
            let flagged = calibrationScores.reduce(0) { $0 + (rule.isReal($1) ? 0 : 1) }
            let interval = BinomialProportion.clopperPearsonInterval(
                successes: flagged, trials: calibrationImages.count, confidenceLevel: calibration.confidenceLevel)
            joint = JointCalibration(
                calibrationCount: calibrationImages.count, falsePositiveCount: flagged,
                realisedFalsePositiveRate: Double(flagged) / Double(calibrationImages.count),
                falsePositiveRateInterval: interval, confidenceLevel: calibration.confidenceLevel)
            if let warning = calibrationWarning(calibration, imageCount: calibrationImages.count, interval: interval) {
                warnings.append(warning)
            }
        } else {
            warnings.append("the threshold is the authors' in-sample rule (rate \(configuration.thresholdRate) of the training samples): it is not a false-positive rate on new photos, which is usually far higher; calibrate on held-out photos for a stated rate")
        }
        var domain: DetectorDomain?
        if !features.domainImages.isEmpty {
            do { domain = try DetectorDomain(images: features.domainImages) } catch {
                throw .invalidConfiguration("the domain record: \(error.description)")
            }
        }
        let summary = FitSummary(configuration: configuration, trainingImageCount: features.trainingImageCount,
                                 trainingSampleCount: features.trainingSampleCount,
                                 calibrationImageCount: calibrationImages.count, skipped: features.skipped,
                                 jointCalibration: joint, mixtureSelections: selections, warnings: warnings, domain: domain)
        return Detector(members: members, tokenizer: configuration.tokenizer, scoring: configuration.scoring,
                        readout: configuration.readout, fitSummary: summary)
    }

    /// The warning for photos that decode to the same pixels as another photo of the fit (nil
    /// when there are none): copies make the mixture and the calibration see fewer distinct
    /// photos than were given, and a copy of a training photo held out for calibration scores
    /// as if it were new.
    ///
    /// - Throws: ``DetectorError/notEnoughImages(_:)`` when every training photo is a copy of
    ///   one (two or more training photos, one distinct image): a mixture fitted on one photo
    ///   calls every other image generated.
    static func duplicateWarning(photos: [PhotoFeatures], isCalibration: [Bool], paths: [String]) throws(DetectorError) -> String? {
        var first: [String: Int] = [:]
        var copies: [(copy: Int, of: Int)] = []
        for photo in photos where !photo.pixelDigest.isEmpty {
            if let original = first[photo.pixelDigest] {
                copies.append((photo.index, original))
            } else {
                first[photo.pixelDigest] = photo.index
            }
        }
        guard !copies.isEmpty else { return nil }
        let training = photos.filter { !isCalibration[$0.index] && !$0.pixelDigest.isEmpty }
        let distinctTraining = Set(training.map(\.pixelDigest)).count
        if training.count >= 2, distinctTraining == 1 {
            throw .notEnoughImages("all \(training.count) training photos are pixel-identical copies of \(paths[training[0].index]): a mixture fitted on one photo calls every other image generated; fit on distinct photos")
        }
        let examples = copies.prefix(3).map { "\(paths[$0.copy]) = \(paths[$0.of])" }.joined(separator: ", ")
        return "\(copies.count) of the \(photos.count) photos are pixel-identical copies of another (\(examples)\(copies.count > 3 ? ", …" : "")): the mixture and the calibration see \(photos.count - copies.count) distinct photos, and a copy held out for calibration scores like a photo the mixture was fitted on; remove the copies"
    }

    /// The warning stored when member `member`'s mixture has too few samples per component for
    /// its covariances to be estimated at all (nil otherwise): with full covariances at most
    /// `d` = 528 samples per component (a tied covariance: at most `d` samples in all), so each
    /// estimate has rank below `d`; with diagonal or spherical ones fewer than 2 per component.
    /// The fit still succeeds — the regularisation makes the covariances invertible — but its
    /// log-likelihoods then mostly measure the regularisation.
    static func sampleCountWarning(member: Int, sampleCount: Int, configuration: GaussianMixture.Configuration) -> String? {
        let d = LowLevelFeatureExtractor.featureDimension
        let k = configuration.componentCount
        let type = configuration.covarianceType
        let perComponent = Double(sampleCount) / Double(max(k, 1))
        let needed: String
        switch type {
        case .full:
            guard perComponent <= Double(d) else { return nil }
            needed = "more than \(d) samples per component for a full-rank covariance"
        case .tied:
            guard sampleCount <= d else { return nil }
            needed = "more than \(d) samples for a full-rank tied covariance"
        case .diagonal, .spherical:
            guard perComponent < 2 else { return nil }
            needed = "at least 2 samples per component for a variance"
        }
        return "extractor \(member)'s mixture has \(k) \(type) components in \(d) dimensions fitted on \(sampleCount) samples ("
            + String(format: "%.1f", perComponent) + " per component); it needs \(needed), so its covariances are mostly the regularisation "
            + String(format: "%.0e", configuration.regularization)
            + " and its log-likelihoods say little: fit on more photos or crops, or use fewer components or a diagonal covariance"
    }

    /// The warning stored when the calibration set cannot support the target rate: the upper
    /// bound of the realised rate's exact interval is above twice the target (nil otherwise).
    static func calibrationWarning(_ calibration: Calibration, imageCount: Int, interval: ClosedRange<Double>) -> String? {
        let target = calibration.targetFalsePositiveRate
        guard interval.upperBound > 2 * target else { return nil }
        let needed = calibration.minimumSupportingCount.map { "about \($0)" } ?? "far more"
        return String(format: "the calibration set (%d photos) cannot support the %.3g target false-positive rate: the %.0f%% interval of the realised rate reaches %.3f, more than twice the target; hold out %@ photos (more photos, or a larger calibration fraction) for a rate you can state",
                      imageCount, target, 100 * calibration.confidenceLevel, interval.upperBound, needed)
    }

    /// Each group's score from its samples' (a calibration photo's regions), combined as
    /// detection combines them (``Scoring/aggregate(_:)``), groups in `order`.
    static func aggregate(_ scores: [Double], groups: [Int], order: [Int], scoring: Scoring) -> [Double] {
        var byGroup: [Int: [Double]] = [:]
        for (score, group) in zip(scores, groups) { byGroup[group, default: []].append(score) }
        return order.map { scoring.aggregate(byGroup[$0] ?? []) }
    }

    /// The distinct values of `values` in order of first appearance.
    static func orderedDistinct(_ values: [Int]) -> [Int] {
        var seen = Set<Int>()
        return values.filter { seen.insert($0).inserted }
    }
}
