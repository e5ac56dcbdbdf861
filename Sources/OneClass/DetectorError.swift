import Imaging

/// Why a ``Detector`` could not be fitted, loaded, saved or could not judge an image. Every case
/// names the file it concerns, so a batch can report each failure next to its path.
public enum DetectorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The image could not be read or decoded (missing, truncated, corrupt, not a JPEG or PNG,
    /// or over the pixel limit); the `ImageError` names the file.
    case image(ImageError)
    /// The extractor of member `member` produced a NaN or infinite feature for this image, so it
    /// has no log-likelihood (never seen on decodable images; reported rather than scored).
    case nonFiniteFeature(path: String, member: Int)
    /// Member `member`'s mixture gave a log-likelihood `value` that is NaN or ±∞ for a finite
    /// feature of this image (a degenerate or damaged mixture: a zero variance, a non-finite
    /// parameter), so the image has no score to compare with the threshold; reported rather
    /// than judged.
    case nonFiniteScore(path: String, member: Int, value: Double)
    /// Extractor weights could not be opened or do not fit the extractor.
    case weights(path: String, reason: String)
    /// Fitting member `member`'s Gaussian mixture failed (too few samples, a covariance that is
    /// not positive definite even after regularisation…); the mixture's error says what to try.
    case mixture(member: Int, GaussianMixtureError)
    /// Too few readable images to fit (or to calibrate); the message says how many were needed.
    case notEnoughImages(String)
    /// A configuration value is out of range; the message names it.
    case invalidConfiguration(String)
    /// The file is not a valid detector file: unreadable, not a safetensors file, without Grain's
    /// metadata, or with tensors that disagree with it; `reason` says which.
    case invalidDetectorFile(path: String, reason: String)
    /// The detector file was written by a newer Grain (format `version`; this one reads up to
    /// ``Detector/formatVersion``).
    case unsupportedFormatVersion(path: String, version: Int)
    /// The embedded extractor parameters of member `member` do not hash to the digest recorded
    /// when the file was written: the file was altered or damaged.
    case parametersDigestMismatch(path: String, member: Int, expected: String, actual: String)
    /// The detector could not be written.
    case unwritable(path: String, reason: String)

    /// The file the error concerns, when there is one.
    public var path: String? {
        switch self {
        case let .image(error): return error.path
        case let .nonFiniteFeature(path, _), let .nonFiniteScore(path, _, _), let .weights(path, _), let .invalidDetectorFile(path, _),
             let .unsupportedFormatVersion(path, _), let .parametersDigestMismatch(path, _, _, _),
             let .unwritable(path, _):
            return path
        case .mixture, .notEnoughImages, .invalidConfiguration:
            return nil
        }
    }

    /// A one-line explanation naming the file and the problem.
    public var description: String {
        switch self {
        case let .image(error):
            return error.description
        case let .nonFiniteFeature(path, member):
            return "\(path): the feature of extractor \(member) is not finite (NaN or infinite); the image cannot be scored"
        case let .nonFiniteScore(path, member, value):
            return "\(path): the log-likelihood of extractor \(member) is not finite (\(value)); the image cannot be judged (the detector's mixture is degenerate or damaged: refit it)"
        case let .weights(path, reason):
            return "\(path): cannot load the extractor weights: \(reason)"
        case let .mixture(member, error):
            return "fitting the Gaussian mixture of extractor \(member) failed: \(error.description)"
        case let .notEnoughImages(message):
            return "not enough images: \(message)"
        case let .invalidConfiguration(message):
            return "invalid detector configuration: \(message)"
        case let .invalidDetectorFile(path, reason):
            return "\(path): not a valid Grain detector file: \(reason)"
        case let .unsupportedFormatVersion(path, version):
            return "\(path): detector format version \(version) is newer than this Grain reads (up to \(Detector.formatVersion)); update Grain"
        case let .parametersDigestMismatch(path, member, expected, actual):
            return "\(path): the embedded weights of extractor \(member) hash to \(actual), but the file records \(expected): the file is damaged or was altered"
        case let .unwritable(path, reason):
            return "\(path): cannot write the detector: \(reason)"
        }
    }
}
