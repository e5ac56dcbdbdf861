import Foundation
import Tensor

/// The transformations drawn for one image by ``ImageAugmentation/plan(using:)``, in the order
/// they are applied.
public struct AugmentationPlan: Codable, Equatable, Hashable, Sendable {
    /// The downscaling factor, or nil for none.
    public var downscaleFactor: Double?
    /// The JPEG quality of the re-encode, or nil for none.
    public var jpegQuality: Int?
    /// The chroma sampling of the re-encode (nil when there is none).
    public var jpegSubsampling: ChromaSubsampling?
    /// Whether the image ends with a PNG round trip.
    public var pngRoundTrip: Bool

    /// Creates a plan (for deterministic sweeps and tests; ``ImageAugmentation/plan(using:)``
    /// draws one at random).
    public init(downscaleFactor: Double? = nil, jpegQuality: Int? = nil, jpegSubsampling: ChromaSubsampling? = nil,
                pngRoundTrip: Bool = false) {
        self.downscaleFactor = downscaleFactor
        self.jpegQuality = jpegQuality
        self.jpegSubsampling = jpegQuality == nil ? nil : (jpegSubsampling ?? .ratio420)
        self.pngRoundTrip = pngRoundTrip
    }

    /// Applies the plan: downscale, then JPEG round trip, then PNG round trip.
    ///
    /// - Throws: ``ImageError`` from the codecs, or for a factor outside (0, 1] or a quality
    ///   outside 1…100 in a hand-made plan.
    public func applied(to image: Image) throws(ImageError) -> AugmentedImage {
        var result = image
        var encoded: Data?
        if let downscaleFactor {
            result = try result.downscaled(by: downscaleFactor)
        }
        if let jpegQuality {
            (result, encoded) = try result.jpegRoundTrip(quality: jpegQuality, subsampling: jpegSubsampling ?? .ratio420)
        }
        if pngRoundTrip {
            (result, encoded) = try result.pngRoundTrip()
        }
        return AugmentedImage(image: result, plan: self, encoded: encoded)
    }
}

// ChromaSubsampling is stored in plans by its notation ("4:2:0"), not its Pillow number.
extension ChromaSubsampling: Codable {
    /// Decodes `"4:4:4"`, `"4:2:2"` or `"4:2:0"`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = ChromaSubsampling.allCases.first(where: { $0.notation == text }) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "chroma subsampling '\(text)', expected 4:4:4, 4:2:2 or 4:2:0")
        }
        self = value
    }

    /// Encodes the notation, `"4:2:0"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(notation)
    }
}

/// An image after ``AugmentationPlan/applied(to:)``.
public struct AugmentedImage: Sendable {
    /// The transformed pixels.
    public var image: Image
    /// What was done to them.
    public var plan: AugmentationPlan
    /// The last file the image became (JPEG or PNG bytes), or nil when it was never re-encoded.
    public var encoded: Data?

    /// The description of the file the augmented image stands for: the re-encoded file's, or —
    /// when there was no re-encode — `source` with the new width and height.
    ///
    /// - Throws: ``ImageError`` if the re-encoded header cannot be read (it was just written, so
    ///   only on a codec fault).
    public func description(source: ImageSourceDescription) throws(ImageError) -> ImageSourceDescription {
        if let encoded { return try ImageSourceDescription(data: encoded, name: "<augmented>") }
        var description = source
        description.header.width = image.width
        description.header.height = image.height
        return description
    }
}

extension ImageAugmentation {
    /// Draws the transformations for one image.
    ///
    /// Always exactly six `nextUnitDouble()` draws, in this order, whichever transformations are
    /// enabled or happen — so image `i` of a seeded run gets the same draws under any
    /// configuration, and a caller that hands one generator to a sequence of images can predict
    /// where each image's draws start:
    /// 1. `u₁ < downscaleProbability` → downscale;  2. factor `= min + u₂·(max − min)`;
    /// 3. `u₃ < jpegProbability` → JPEG;  4. quality `= min + ⌊u₄·(max − min + 1)⌋`;
    /// 5. chroma: 4:4:4 if quality ≥ `fullChromaMinimumQuality`, else 4:2:2 if `u₅ < chroma422Probability`, else 4:2:0;
    /// 6. `u₆ < pngProbability` → PNG round trip.
    public func plan(using generator: inout some RandomNumberGenerator) -> AugmentationPlan {
        let draws = (0..<6).map { _ in generator.nextUnitDouble() }
        let factor = downscaleMinimumFactor + draws[1] * (downscaleMaximumFactor - downscaleMinimumFactor)
        let span = jpegMaximumQuality - jpegMinimumQuality + 1
        let quality = jpegMinimumQuality + min(Int(draws[3] * Double(span)), span - 1)
        let subsampling: ChromaSubsampling = quality >= fullChromaMinimumQuality ? .ratio444
            : (draws[4] < chroma422Probability ? .ratio422 : .ratio420)
        let downscale = draws[0] < downscaleProbability
        let jpeg = draws[2] < jpegProbability
        return AugmentationPlan(downscaleFactor: downscale ? min(max(factor, downscaleMinimumFactor), downscaleMaximumFactor) : nil,
                                jpegQuality: jpeg ? quality : nil, jpegSubsampling: jpeg ? subsampling : nil,
                                pngRoundTrip: draws[5] < pngProbability)
    }

    /// Draws a plan for `image` (``plan(using:)``) and applies it (``AugmentationPlan/applied(to:)``).
    ///
    /// - Throws: ``ImageError`` from the codecs.
    public func applied(to image: Image, using generator: inout some RandomNumberGenerator) throws(ImageError) -> AugmentedImage {
        try plan(using: &generator).applied(to: image)
    }
}
