/// The benign transformations honest photos meet on their way to a detector — resized for the
/// web, re-saved as JPEG, converted to PNG — drawn at random per image, so that a density fitted
/// on augmented photos covers them.
///
/// Each image gets, in this order (see ``plan(using:)`` for the draws):
/// 1. with probability ``downscaleProbability``, a downscale by a factor drawn uniformly from
///    ``downscaleMinimumFactor``…``downscaleMaximumFactor`` (Pillow's antialiased bicubic,
///    ``Image/downscaled(by:)``) — photos are resized before their last save;
/// 2. with probability ``jpegProbability``, a JPEG re-encode (``Image/jpegRoundTrip(quality:subsampling:)``)
///    at an integer quality drawn uniformly from ``jpegMinimumQuality``…``jpegMaximumQuality``,
///    with 4:4:4 chroma at qualities ≥ ``fullChromaMinimumQuality`` (as Photoshop's and GIMP's
///    high settings and many cameras' finest modes keep full chroma) and below it 4:2:2 with
///    probability ``chroma422Probability`` (the camera layout), else 4:2:0 (the default of libjpeg's
///    `cjpeg`, Pillow and most web encoders);
/// 3. with probability ``pngProbability``, a PNG round trip (``Image/pngRoundTrip()``): lossless,
///    so the identity on the pixels; it changes only the format of the file the image becomes,
///    which matters to the detector's domain record.
///
/// A configuration is validated when created and when decoded: ``ImageAugmentationError`` names
/// the field and the bad value. The compact text form (``init(parsing:)``, ``description``) is
/// for command-line flags: `jpeg:70-100,downscale:0.5-1,png:0.2`.
public struct ImageAugmentation: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The probability, in [0, 1], that an image is downscaled (0: never).
    public var downscaleProbability: Double
    /// The smallest downscaling factor drawn, in (0, 1].
    public var downscaleMinimumFactor: Double
    /// The largest downscaling factor drawn, in [``downscaleMinimumFactor``, 1].
    public var downscaleMaximumFactor: Double
    /// The probability, in [0, 1], that an image is re-encoded as JPEG (0: never).
    public var jpegProbability: Double
    /// The lowest JPEG quality drawn, in 1…100.
    public var jpegMinimumQuality: Int
    /// The highest JPEG quality drawn, in [``jpegMinimumQuality``, 100].
    public var jpegMaximumQuality: Int
    /// Qualities at or above this, in 1…101, are encoded with 4:4:4 chroma (101: never).
    public var fullChromaMinimumQuality: Int
    /// Below ``fullChromaMinimumQuality``, the probability, in [0, 1], of 4:2:2 chroma rather than 4:2:0.
    public var chroma422Probability: Double
    /// The probability, in [0, 1], that the image ends with a PNG round trip.
    public var pngProbability: Double

    /// No transformation at all (every probability 0).
    public static let none = ImageAugmentation(defaults: ())

    /// The defaults, which are valid by construction.
    private init(defaults: ()) {
        (downscaleProbability, downscaleMinimumFactor, downscaleMaximumFactor) = (0, 1, 1)
        (jpegProbability, jpegMinimumQuality, jpegMaximumQuality) = (0, 100, 100)
        (fullChromaMinimumQuality, chroma422Probability, pngProbability) = (90, 0, 0)
    }

    /// Creates and validates a configuration; the defaults transform nothing.
    ///
    /// - Throws: ``ImageAugmentationError/invalidValue(field:value:expected:)`` naming the first
    ///   impossible field: a probability outside [0, 1], a quality outside 1…100, a factor ≤ 0 or
    ///   > 1, a minimum above its maximum.
    public init(downscaleProbability: Double = 0, downscaleMinimumFactor: Double = 1, downscaleMaximumFactor: Double = 1,
                jpegProbability: Double = 0, jpegMinimumQuality: Int = 100, jpegMaximumQuality: Int = 100,
                fullChromaMinimumQuality: Int = 90, chroma422Probability: Double = 0,
                pngProbability: Double = 0) throws(ImageAugmentationError) {
        self.downscaleProbability = downscaleProbability
        self.downscaleMinimumFactor = downscaleMinimumFactor
        self.downscaleMaximumFactor = downscaleMaximumFactor
        self.jpegProbability = jpegProbability
        self.jpegMinimumQuality = jpegMinimumQuality
        self.jpegMaximumQuality = jpegMaximumQuality
        self.fullChromaMinimumQuality = fullChromaMinimumQuality
        self.chroma422Probability = chroma422Probability
        self.pngProbability = pngProbability
        try validate()
    }

    /// Checks every field; see ``init(downscaleProbability:downscaleMinimumFactor:downscaleMaximumFactor:jpegProbability:jpegMinimumQuality:jpegMaximumQuality:fullChromaMinimumQuality:chroma422Probability:pngProbability:)``.
    public func validate() throws(ImageAugmentationError) {
        func probability(_ value: Double, _ field: CodingKeys) throws(ImageAugmentationError) {
            guard value >= 0, value <= 1 else {
                throw .invalidValue(field: field.rawValue, value: "\(value)", expected: "a probability in [0, 1]")
            }
        }
        func factor(_ value: Double, _ field: CodingKeys) throws(ImageAugmentationError) {
            guard value > 0, value <= 1 else {
                throw .invalidValue(field: field.rawValue, value: "\(value)", expected: "a downscaling factor in (0, 1]")
            }
        }
        func quality(_ value: Int, _ field: CodingKeys, upTo limit: Int = 100) throws(ImageAugmentationError) {
            guard (1...limit).contains(value) else {
                throw .invalidValue(field: field.rawValue, value: "\(value)", expected: "a JPEG quality in 1…\(limit)")
            }
        }
        try probability(downscaleProbability, .downscaleProbability)
        try factor(downscaleMinimumFactor, .downscaleMinimumFactor)
        try factor(downscaleMaximumFactor, .downscaleMaximumFactor)
        guard downscaleMinimumFactor <= downscaleMaximumFactor else {
            throw .invalidValue(field: CodingKeys.downscaleMinimumFactor.rawValue, value: "\(downscaleMinimumFactor)",
                                expected: "at most downscaleMaximumFactor (\(downscaleMaximumFactor))")
        }
        try probability(jpegProbability, .jpegProbability)
        try quality(jpegMinimumQuality, .jpegMinimumQuality)
        try quality(jpegMaximumQuality, .jpegMaximumQuality)
        guard jpegMinimumQuality <= jpegMaximumQuality else {
            throw .invalidValue(field: CodingKeys.jpegMinimumQuality.rawValue, value: "\(jpegMinimumQuality)",
                                expected: "at most jpegMaximumQuality (\(jpegMaximumQuality))")
        }
        try quality(fullChromaMinimumQuality, .fullChromaMinimumQuality, upTo: 101)
        try probability(chroma422Probability, .chroma422Probability)
        try probability(pngProbability, .pngProbability)
    }

    enum CodingKeys: String, CodingKey {
        case downscaleProbability, downscaleMinimumFactor, downscaleMaximumFactor
        case jpegProbability, jpegMinimumQuality, jpegMaximumQuality, fullChromaMinimumQuality, chroma422Probability
        case pngProbability
    }

    /// Decodes a configuration (a missing field takes its default) and validates it.
    ///
    /// - Throws: `DecodingError` for a field of the wrong type, else
    ///   ``ImageAugmentationError/invalidValue(field:value:expected:)``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            downscaleProbability: container.decodeIfPresent(Double.self, forKey: .downscaleProbability) ?? 0,
            downscaleMinimumFactor: container.decodeIfPresent(Double.self, forKey: .downscaleMinimumFactor) ?? 1,
            downscaleMaximumFactor: container.decodeIfPresent(Double.self, forKey: .downscaleMaximumFactor) ?? 1,
            jpegProbability: container.decodeIfPresent(Double.self, forKey: .jpegProbability) ?? 0,
            jpegMinimumQuality: container.decodeIfPresent(Int.self, forKey: .jpegMinimumQuality) ?? 100,
            jpegMaximumQuality: container.decodeIfPresent(Int.self, forKey: .jpegMaximumQuality) ?? 100,
            fullChromaMinimumQuality: container.decodeIfPresent(Int.self, forKey: .fullChromaMinimumQuality) ?? 90,
            chroma422Probability: container.decodeIfPresent(Double.self, forKey: .chroma422Probability) ?? 0,
            pngProbability: container.decodeIfPresent(Double.self, forKey: .pngProbability) ?? 0)
    }
}

/// Why an ``ImageAugmentation`` cannot be created, decoded or parsed.
public enum ImageAugmentationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A field holds an impossible value.
    case invalidValue(field: String, value: String, expected: String)
    /// A term of the text form cannot be read.
    case malformedTerm(term: String, detail: String)

    /// A one-line explanation naming the field or term and the problem.
    public var description: String {
        switch self {
        case .invalidValue(let field, let value, let expected):
            "augmentation: \(field) = \(value) is impossible: expected \(expected)"
        case .malformedTerm(let term, let detail):
            "augmentation: cannot read '\(term)': \(detail)"
        }
    }
}
