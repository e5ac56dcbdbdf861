import Foundation
import Imaging
import NN
import Tensor

/// Judges whether an image is a real photograph or AI-generated, as *Beyond Generation* does:
/// patch tokens → low-level feature extractor → 528-d feature → Gaussian-mixture log-likelihood
/// → compared with a threshold.
///
/// A detector has one or more ``Member``s, each an extractor with its own mixture and threshold
/// (the paper's "ours-ft" uses two: the basic and a fine-tuned extractor), and one
/// ``ImageTokenizer`` that turns images into tokens for all of them. The rule is the joint one
/// (``JointThreshold``): an image is real only if **every** member's log-likelihood is at least
/// that member's threshold; otherwise it is generated.
///
/// ```swift
/// let detector = try Detector(contentsOf: URL(fileURLWithPath: "basic.detector.safetensors"))
/// let verdict = try detector.detect(contentsOf: URL(fileURLWithPath: "photo.jpg"))
/// print(verdict.decision, verdict.reasons, verdict.logLikelihoods, verdict.thresholds)
/// ```
///
/// Fit one with ``fit(realImages:weights:configuration:progress:)``, save it as one
/// self-contained file with ``save(to:)`` (the extractor weights are embedded), judge many files
/// with ``detect(files:pixelLimit:lookahead:stability:handler:)`` (decoding runs ahead on a second thread).
///
/// A detector is immutable and `Sendable`; scoring does not modify the extractors.
public struct Detector: Sendable {
    /// The version of the file layout ``save(to:)`` writes; ``init(contentsOf:)`` reads this
    /// version and older ones.
    public static let formatVersion = 1

    /// Where a member's extractor weights came from.
    public struct Provenance: Codable, Equatable, Sendable {
        /// The weight file's name (its last path component) when the detector was fitted.
        public var weightsFileName: String
        /// The SHA-256 of that file's bytes (as `sha256sum` prints it), to tell which release of
        /// the weights was used.
        public var weightsSHA256: String
        /// The SHA-256 of the extractor's parameters as embedded in a detector file (see
        /// ``Detector/parametersDigest(of:)``); checked when the file is loaded.
        public var parametersSHA256: String

        /// Creates a record.
        public init(weightsFileName: String, weightsSHA256: String, parametersSHA256: String) {
            self.weightsFileName = weightsFileName
            self.weightsSHA256 = weightsSHA256
            self.parametersSHA256 = parametersSHA256
        }
    }

    /// How a member's threshold was chosen, with what the other rule would have given.
    public struct ThresholdReport: Codable, Equatable, Sendable {
        /// The rule behind ``Member/threshold``.
        public enum Rule: String, Codable, Sendable {
            /// The authors' in-sample rule on the training log-likelihoods (``LikelihoodThreshold/authors(trainingLogLikelihoods:rate:)``).
            case authors
            /// Calibrated on held-out real photographs for a target false-positive rate (``CalibratedThreshold``).
            case calibrated
        }

        /// The rule used.
        public var rule: Rule
        /// The authors' rate (the fraction of training samples below their threshold).
        public var rate: Double
        /// The authors' in-sample threshold (always computed, for comparison).
        public var authorsThreshold: Double
        /// The number of training samples (images × crops) the mixture was fitted on.
        public var trainingSampleCount: Int
        /// The calibration on held-out real photos, when there was one.
        public var calibration: CalibratedThreshold?
        /// The scores that calibration cannot resolve (``UncertaintyBand``), drawn from the same
        /// calibration scores; nil without calibration and in files written before it existed.
        public var band: UncertaintyBand?

        /// Creates a report.
        public init(rule: Rule, rate: Double, authorsThreshold: Double, trainingSampleCount: Int,
                    calibration: CalibratedThreshold? = nil, band: UncertaintyBand? = nil) {
            self.rule = rule
            self.rate = rate
            self.authorsThreshold = authorsThreshold
            self.trainingSampleCount = trainingSampleCount
            self.calibration = calibration
            self.band = band
        }
    }

    /// One extractor with the mixture fitted to its features of real photos, and its threshold.
    public struct Member: Sendable {
        /// The feature extractor (weights loaded).
        public let extractor: LowLevelFeatureExtractor
        /// The mixture over its 528-d features of real photographs.
        public let mixture: GaussianMixture
        /// The decision threshold: this member votes "real" when the log-likelihood is ≥ it.
        public let threshold: Double
        /// Where the weights came from.
        public let provenance: Provenance
        /// How the threshold was chosen.
        public let thresholdReport: ThresholdReport

        /// Assembles a member.
        ///
        /// - Precondition: the mixture has 528 features and the threshold is finite.
        public init(extractor: LowLevelFeatureExtractor, mixture: GaussianMixture, threshold: Double,
                    provenance: Provenance, thresholdReport: ThresholdReport) {
            precondition(mixture.featureCount == LowLevelFeatureExtractor.featureDimension,
                         "Detector.Member: the mixture has \(mixture.featureCount) features, the extractor gives \(LowLevelFeatureExtractor.featureDimension)")
            precondition(threshold.isFinite, "Detector.Member: threshold \(threshold) is not finite")
            self.extractor = extractor
            self.mixture = mixture
            self.threshold = threshold
            self.provenance = provenance
            self.thresholdReport = thresholdReport
        }
    }

    /// The members, in order (their scores and thresholds are listed in this order).
    public let members: [Member]
    /// How images become patch tokens (crop mode, patch cap), shared by all members.
    public let tokenizer: ImageTokenizer
    /// Which regions of an image are scored and how their log-likelihoods combine (the whole
    /// image once by default).
    public let scoring: Scoring
    /// Which transformer output is a region's feature, for every member (`FeatureReadout`:
    /// token 0, the authors', by default; the mixtures were fitted on features read this way).
    public let readout: FeatureReadout
    /// How the detector was fitted (`nil` for one assembled by hand).
    public let fitSummary: FitSummary?

    /// Assembles a detector.
    ///
    /// - Precondition: at least one member.
    public init(members: [Member], tokenizer: ImageTokenizer = ImageTokenizer(), scoring: Scoring = .wholeImage,
                readout: FeatureReadout = .firstToken, fitSummary: FitSummary? = nil) {
        precondition(!members.isEmpty, "Detector: at least one member is needed")
        self.members = members
        self.tokenizer = tokenizer
        self.scoring = scoring
        self.readout = readout
        self.fitSummary = fitSummary
    }

    /// The members' thresholds, in member order.
    public var thresholds: [Double] { members.map(\.threshold) }

    // MARK: - Features and scores

    /// Each member's features of patch tokens, read out as ``readout`` says:
    /// `[B, N, 3, 16, 16]` → one `[B, 528]` per member.
    public func features(tokens: Tensor) -> [Tensor] {
        members.map { $0.extractor.features(tokens, readout: readout) }
    }

    /// Each member's features of the regions of `image` that ``scoring`` scores (tokenised with
    /// ``tokenizer``): one `[R, 528]` per member, `R` = 1 for the whole image.
    public func features(_ image: Image) -> [Tensor] {
        features(tokens: scoring.tokens(of: image, tokenizer: tokenizer))
    }

    /// The log-likelihoods of precomputed features: `features[m]` is member `m`'s `[B, 528]`;
    /// the result is `[B][members]` (one list of per-member log-likelihoods per sample). Use it to
    /// extract features once and rescore them.
    ///
    /// - Parameters:
    ///   - features: one `[B, 528]` tensor per member, in member order.
    ///   - path: names the image in errors.
    /// - Throws: ``DetectorError/nonFiniteFeature(path:member:)`` for a NaN or infinite feature,
    ///   ``DetectorError/nonFiniteScore(path:member:value:)`` when a member's mixture gives a NaN
    ///   or infinite log-likelihood for a finite feature (never a NaN returned as a score).
    /// - Precondition: one `[B, 528]` tensor per member, the same `B` for all.
    public func logLikelihoods(features: [Tensor], path: String = "<memory>") throws(DetectorError) -> [[Double]] {
        precondition(features.count == members.count,
                     "Detector.logLikelihoods: \(features.count) feature tensors for \(members.count) members")
        let batch = features.first?.shape.first ?? 0
        var perMember: [[Double]] = []
        for (index, (member, feature)) in zip(members, features).enumerated() {
            precondition(feature.shape == [batch, LowLevelFeatureExtractor.featureDimension],
                         "Detector.logLikelihoods: member \(index) features are \(feature.shape), expected [\(batch), 528]")
            let scores: [Double]
            do {
                scores = try member.mixture.scoreSamples(feature)
            } catch .nonFiniteInput {
                throw .nonFiniteFeature(path: path, member: index)
            } catch {
                // The shapes were checked above, so only non-finite input can fail.
                throw .mixture(member: index, error)
            }
            if let bad = scores.first(where: { !$0.isFinite }) {
                throw .nonFiniteScore(path: path, member: index, value: bad)
            }
            perMember.append(scores)
        }
        return (0..<batch).map { sample in perMember.map { $0[sample] } }
    }

    /// Each member's log-likelihood of `image`, in member order (its regions' aggregated, see
    /// ``scoring``).
    ///
    /// - Parameters:
    ///   - image: the image to score (RGB).
    ///   - path: names the image in errors.
    /// - Throws: ``DetectorError/nonFiniteFeature(path:member:)``.
    public func score(_ image: Image, path: String = "<memory>") throws(DetectorError) -> [Double] {
        try scoredRegions(tokens: scoring.tokens(of: image, tokenizer: tokenizer), path: path).perMember
    }

    /// Judges `image`: its regions scored and aggregated (``scoring``), then the rule of
    /// ``Verdict`` — with the domain check when `source` describes the file it came from, and the
    /// stability check when `stability` is given (the image re-encoded once and scored again, at
    /// twice the cost).
    ///
    /// - Parameters:
    ///   - image: the image to judge (RGB).
    ///   - source: the image file's description (nil: no domain check).
    ///   - path: names the image in errors.
    ///   - stability: the re-encode of the stability check (``Stability``), or nil (the default)
    ///     for none.
    /// - Throws: ``DetectorError/nonFiniteFeature(path:member:)``, or ``DetectorError/image(_:)``
    ///   when the stability re-encode fails.
    public func detect(_ image: Image, source: ImageSourceDescription? = nil, path: String = "<memory>",
                       stability: Stability? = nil) throws(DetectorError) -> Verdict {
        var reencodedTokens: (stability: Stability, tokens: Tensor)?
        if let stability {
            let reencoded = try stability.reencoded(image, path: path)
            reencodedTokens = (stability, scoring.tokens(of: reencoded, tokenizer: tokenizer))
        }
        return try verdict(tokens: scoring.tokens(of: image, tokenizer: tokenizer),
                           patchCount: tokenizer.patchCount(width: image.width, height: image.height), source: source, path: path,
                           reencodedTokens: reencodedTokens)
    }

    /// Each member's log-likelihood of the image file at `url`.
    ///
    /// - Parameters:
    ///   - url: a JPEG or PNG file.
    ///   - pixelLimit: the most pixels to decode (nil: no limit); see `Image(contentsOf:pixelLimit:)`.
    /// - Throws: ``DetectorError/image(_:)`` when the file cannot be decoded, or
    ///   ``DetectorError/nonFiniteFeature(path:member:)``.
    public func score(contentsOf url: URL, pixelLimit: Int? = Image.defaultPixelLimit) throws(DetectorError) -> [Double] {
        try score(Detector.decode(url, pixelLimit: pixelLimit), path: url.path)
    }

    /// Judges the image file at `url`, with the domain check on its header (``Verdict``).
    ///
    /// - Parameters:
    ///   - url: a JPEG or PNG file.
    ///   - pixelLimit: the most pixels to decode (nil: no limit).
    ///   - stability: the re-encode of the stability check (``Stability``), or nil (the default)
    ///     for none.
    /// - Throws: as ``score(contentsOf:pixelLimit:)``, or ``DetectorError/image(_:)`` when the
    ///   stability re-encode fails.
    public func detect(contentsOf url: URL, pixelLimit: Int? = Image.defaultPixelLimit,
                       stability: Stability? = nil) throws(DetectorError) -> Verdict {
        let (image, source) = try Detector.load(url, pixelLimit: pixelLimit)
        return try detect(image, source: source, path: url.path, stability: stability)
    }

    /// Scores the regions `[R, N, 3, 16, 16]` of one image: per region, per member
    /// (`[R][members]`), and aggregated per member (``Scoring/aggregate(regions:)``).
    func scoredRegions(tokens: Tensor, path: String) throws(DetectorError) -> (perMember: [Double], perRegion: [[Double]]) {
        let perRegion = try logLikelihoods(features: features(tokens: tokens), path: path)
        let perMember = scoring.aggregate(regions: perRegion)
        // Finite region scores can still aggregate to −∞ (a mean of values near −Double.greatestFiniteMagnitude).
        if let member = perMember.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteScore(path: path, member: member, value: perMember[member])
        }
        return (perMember, perRegion)
    }

    /// The verdict on the regions `[R, N, 3, 16, 16]` of one image, with the stability check
    /// when the re-encoded image's regions are given (scored in a separate extractor call, so the
    /// original's scores are those without the check).
    func verdict(tokens: Tensor, patchCount: Int, source: ImageSourceDescription?, path: String,
                 reencodedTokens: (stability: Stability, tokens: Tensor)? = nil) throws(DetectorError) -> Verdict {
        let (perMember, perRegion) = try scoredRegions(tokens: tokens, path: path)
        var reencoded: (stability: Stability, logLikelihoods: [Double])?
        if let reencodedTokens {
            reencoded = (reencodedTokens.stability, try scoredRegions(tokens: reencodedTokens.tokens, path: path).perMember)
        }
        return verdict(logLikelihoods: perMember, patchCount: patchCount, source: source,
                       perCropLogLikelihoods: perRegion.count > 1 ? perRegion : nil, reencoded: reencoded)
    }

    /// Reads an image file once: its header description (`ImageSourceDescription`) and its
    /// pixels, wrapping the error.
    static func load(_ url: URL, pixelLimit: Int?) throws(DetectorError) -> (image: Image, source: ImageSourceDescription) {
        let data: Data
        do {
            // Refuses a FIFO, a socket, a directory, a symbolic link loop or a dangling link up
            // front, with a message saying which (Foundation's reader reported a loop as
            // "NSCocoaErrorDomain error 256").
            data = try RegularFile.mappedContents(of: url)
        } catch {
            throw .image(.unreadable(path: url.path, reason: error.reason))
        }
        do {
            let source = try ImageSourceDescription(data: data, name: url.path)
            return (try Image(data: data, name: url.path, pixelLimit: pixelLimit), source)
        } catch {
            throw .image(error)
        }
    }

    /// Decodes an image file, wrapping the error.
    static func decode(_ url: URL, pixelLimit: Int?) throws(DetectorError) -> Image {
        do {
            return try Image(contentsOf: url, pixelLimit: pixelLimit)
        } catch {
            throw .image(error)
        }
    }

    // MARK: - Weight digests

    /// The SHA-256 of an extractor's parameters as a detector file embeds them: for each
    /// parameter in key order (byte-wise UTF-8), the key's UTF-8 bytes, a zero byte, the rank and
    /// each extent as little-endian 64-bit integers, then the float32 values little-endian.
    /// Independent of the file the weights were read from (`.pth` or safetensors).
    public static func parametersDigest(of extractor: LowLevelFeatureExtractor) -> String {
        parametersDigest(of: extractor.stateDictionary())
    }

    /// ``parametersDigest(of:)-(LowLevelFeatureExtractor)`` of a key → tensor dictionary.
    static func parametersDigest(of tensors: [String: Tensor]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tensors.values.reduce(0) { $0 + 4 * $1.count + 64 })
        func append(_ value: UInt64) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        for key in tensors.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let tensor = tensors[key]!
            bytes.append(contentsOf: Array(key.utf8))
            bytes.append(0)
            append(UInt64(tensor.shape.count))
            for extent in tensor.shape { append(UInt64(extent)) }
            tensor.withUnsafeBufferPointer { values in
                if 1.littleEndian == 1 {
                    bytes.append(contentsOf: UnsafeRawBufferPointer(values))
                } else {
                    for value in values {
                        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
                    }
                }
            }
        }
        return bytes.withUnsafeBytes { SHA256.hexDigest($0) }
    }
}
