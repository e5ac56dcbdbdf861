import Foundation
import Imaging

/// The images a detector was fitted and calibrated on, as their file headers describe them:
/// sizes and patch counts, formats, estimated JPEG qualities, chroma subsamplings, bit depths and
/// colour layouts — and the check that tells when a new image lies outside them.
///
/// **The rule** (``reasons(for:patchCount:)``): an image is out of the domain, for each reason
/// that applies, when
/// - its format, bit depth, component count (grey / RGB / alpha) or — for JPEG — chroma layout
///   was never seen in the fit set;
/// - it is a JPEG and the fit set's JPEGs were all IJG-standard while its tables are not, or the
///   other way round;
/// - its estimated JPEG quality lies outside the fit JPEGs' `[minimum − t, maximum + t]`, with
///   `t` = ``Tolerance/jpegQuality`` (default 5 quality steps), or the fit set had no JPEG at all
///   (then the format reason applies);
/// - its patch count lies outside `[minimum · (1 − r), maximum · (1 + r)]` of the fit's, with
///   `r` = ``Tolerance/patchCountFraction`` (default 0.25).
///
/// The bounds are the fit set's extremes, not quantiles, so every fit image is in its own domain;
/// the quantiles are kept for reporting. The default tolerances are a first choice, not yet
/// measured against the verdicts they protect.
public struct DetectorDomain: Codable, Equatable, Sendable {
    /// How far beyond the fit set's extremes an image still counts as inside.
    public struct Tolerance: Codable, Equatable, Hashable, Sendable {
        /// Quality steps allowed below the lowest and above the highest fitted JPEG quality (≥ 0).
        public var jpegQuality: Int
        /// The fraction, in [0, 1), by which the patch-count range is widened at both ends.
        public var patchCountFraction: Double

        /// The default tolerance: 5 quality steps, a quarter of the patch-count range's ends.
        public static let standard = Tolerance(uncheckedJPEGQuality: 5, patchCountFraction: 0.25)

        /// Creates a tolerance.
        ///
        /// - Throws: ``DetectorDomainError/invalidField(name:value:expected:)`` for a negative
        ///   quality step or a fraction outside [0, 1).
        public init(jpegQuality: Int, patchCountFraction: Double) throws(DetectorDomainError) {
            self.init(uncheckedJPEGQuality: jpegQuality, patchCountFraction: patchCountFraction)
            try validate()
        }

        private init(uncheckedJPEGQuality: Int, patchCountFraction: Double) {
            jpegQuality = uncheckedJPEGQuality
            self.patchCountFraction = patchCountFraction
        }

        func validate() throws(DetectorDomainError) {
            guard (0...99).contains(jpegQuality) else {
                throw .invalidField(name: "tolerance.jpegQuality", value: "\(jpegQuality)", expected: "0…99 quality steps")
            }
            guard patchCountFraction >= 0, patchCountFraction < 1 else {
                throw .invalidField(name: "tolerance.patchCountFraction", value: "\(patchCountFraction)", expected: "a fraction in [0, 1)")
            }
        }

        enum CodingKeys: String, CodingKey { case jpegQuality, patchCountFraction }

        /// Decodes and validates a tolerance.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            try self.init(jpegQuality: container.decode(Int.self, forKey: .jpegQuality),
                          patchCountFraction: container.decode(Double.self, forKey: .patchCountFraction))
        }
    }

    /// Order statistics of a whole-number quantity over the fit set (nearest rank: the value at
    /// sorted index `⌊p · (n − 1)⌋`).
    public struct Summary: Codable, Equatable, Hashable, Sendable {
        /// The smallest value.
        public var minimum: Int
        /// The 5 % quantile.
        public var lowerQuantile: Int
        /// The median (the lower middle value for an even count).
        public var median: Int
        /// The 95 % quantile.
        public var upperQuantile: Int
        /// The largest value.
        public var maximum: Int

        /// The summary of a non-empty list; nil when empty.
        public init?(_ values: [Int]) {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            func rank(_ p: Double) -> Int { sorted[Int(p * Double(sorted.count - 1))] }
            (minimum, lowerQuantile, median, upperQuantile, maximum) = (sorted[0], rank(0.05), rank(0.5), rank(0.95), sorted[sorted.count - 1])
        }

        /// True when the order statistics are ordered.
        var isOrdered: Bool { minimum <= lowerQuantile && lowerQuantile <= median && median <= upperQuantile && upperQuantile <= maximum }
    }

    /// The number of images described.
    public var imageCount: Int
    /// Images per format (`"jpeg"`, `"png"`).
    public var formats: [String: Int]
    /// Images per bit depth (as text: `"8"`, `"16"`).
    public var bitDepths: [String: Int]
    /// Images per stored component count (as text: `"1"` grey, `"3"` colour, `"2"`/`"4"` with alpha or CMYK).
    public var componentCounts: [String: Int]
    /// JPEGs per chroma layout (`"4:2:0"`, `"4:4:4"`, …).
    public var chromaLayouts: [String: Int]
    /// JPEGs whose tables are IJG-standard.
    public var standardJPEGCount: Int
    /// JPEGs whose tables are not (cameras' own, Photoshop's, …).
    public var nonStandardJPEGCount: Int
    /// The estimated JPEG qualities, or nil when the fit set had no JPEG.
    public var jpegQualities: Summary?
    /// Image widths.
    public var widths: Summary
    /// Image heights.
    public var heights: Summary
    /// Patch tokens per image, as the detector's tokenizer cut them (after its cap).
    public var patchCounts: Summary
    /// How far beyond the extremes an image still counts as inside.
    public var tolerance: Tolerance

    /// Records the domain of a fit set.
    ///
    /// - Parameters:
    ///   - images: each fit or calibration image's header description (after any augmentation:
    ///     Imaging's `AugmentedImage.description(source:)`) and the number of patch tokens the detector cut
    ///     from it.
    ///   - tolerance: how far beyond the fit set's extremes an image still counts as inside.
    /// - Throws: ``DetectorDomainError/empty`` for no images,
    ///   ``DetectorDomainError/invalidField(name:value:expected:)`` for a patch count < 1.
    public init(images: [(description: ImageSourceDescription, patchCount: Int)], tolerance: Tolerance = .standard) throws(DetectorDomainError) {
        guard !images.isEmpty else { throw .empty }
        if let bad = images.first(where: { $0.patchCount < 1 }) {
            throw .invalidField(name: "patchCount", value: "\(bad.patchCount)", expected: "at least 1 patch per image")
        }
        func counts(_ keys: [String]) -> [String: Int] { keys.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
        let descriptions = images.map(\.description)
        let jpegs = descriptions.compactMap(\.jpeg)
        imageCount = images.count
        formats = counts(descriptions.map(\.header.format.rawValue))
        bitDepths = counts(descriptions.map { "\($0.header.bitDepth)" })
        componentCounts = counts(descriptions.map { "\($0.header.components)" })
        chromaLayouts = counts(jpegs.map(\.chroma.rawValue))
        standardJPEGCount = jpegs.filter(\.quality.isStandard).count
        nonStandardJPEGCount = jpegs.count - standardJPEGCount
        jpegQualities = Summary(jpegs.map(\.quality.quality))
        guard let widths = Summary(descriptions.map(\.header.width)), let heights = Summary(descriptions.map(\.header.height)),
              let patchCounts = Summary(images.map(\.patchCount)) else { throw .empty }
        (self.widths, self.heights, self.patchCounts) = (widths, heights, patchCounts)
        self.tolerance = tolerance
    }

    /// Why an image lies outside the domain; empty when it lies inside.
    ///
    /// - Parameters:
    ///   - description: the image file's header description.
    ///   - patchCount: the patch tokens the detector cut from it.
    /// - Returns: every reason that applies, in a fixed order (format, bit depth, components,
    ///   chroma, tables, quality, patch count).
    public func reasons(for description: ImageSourceDescription, patchCount: Int) -> [DomainReason] {
        var reasons: [DomainReason] = []
        let format = description.header.format.rawValue
        if formats[format] == nil {
            reasons.append(.formatNeverSeen(format: format, fitted: formats.keys.sorted()))
        }
        if bitDepths["\(description.header.bitDepth)"] == nil {
            reasons.append(.bitDepthNeverSeen(bitDepth: description.header.bitDepth, fitted: bitDepths.keys.compactMap { Int($0) }.sorted()))
        }
        if componentCounts["\(description.header.components)"] == nil {
            reasons.append(.componentCountNeverSeen(components: description.header.components,
                                                    fitted: componentCounts.keys.compactMap { Int($0) }.sorted()))
        }
        if let jpeg = description.jpeg, standardJPEGCount + nonStandardJPEGCount > 0 {
            if chromaLayouts[jpeg.chroma.rawValue] == nil {
                reasons.append(.chromaLayoutNeverSeen(layout: jpeg.chroma.rawValue, fitted: chromaLayouts.keys.sorted()))
            }
            if jpeg.quality.isStandard ? standardJPEGCount == 0 : nonStandardJPEGCount == 0 {
                reasons.append(.quantisationTablesNeverSeen(standard: jpeg.quality.isStandard))
            }
            if let qualities = jpegQualities {
                let quality = jpeg.quality.quality
                if quality < qualities.minimum - tolerance.jpegQuality {
                    reasons.append(.jpegQualityBelowRange(quality: quality, fitted: qualities.minimum...qualities.maximum,
                                                          tolerance: tolerance.jpegQuality))
                } else if quality > qualities.maximum + tolerance.jpegQuality {
                    reasons.append(.jpegQualityAboveRange(quality: quality, fitted: qualities.minimum...qualities.maximum,
                                                          tolerance: tolerance.jpegQuality))
                }
            }
        }
        let lowest = Int((Double(patchCounts.minimum) * (1 - tolerance.patchCountFraction)).rounded(.up))
        let highest = Int((Double(patchCounts.maximum) * (1 + tolerance.patchCountFraction)).rounded(.down))
        if patchCount < lowest {
            reasons.append(.patchCountBelowRange(patchCount: patchCount, smallestFitted: patchCounts.minimum, lowestAccepted: lowest))
        } else if patchCount > highest {
            reasons.append(.patchCountAboveRange(patchCount: patchCount, largestFitted: patchCounts.maximum, highestAccepted: highest))
        }
        return reasons
    }

    enum CodingKeys: String, CodingKey {
        case imageCount, formats, bitDepths, componentCounts, chromaLayouts, standardJPEGCount, nonStandardJPEGCount
        case jpegQualities, widths, heights, patchCounts, tolerance
    }

    /// Decodes a domain record and checks that it is consistent.
    ///
    /// - Throws: `DecodingError` for missing or mistyped fields;
    ///   ``DetectorDomainError/invalidField(name:value:expected:)`` naming the first inconsistent
    ///   field (counts that do not add up to ``imageCount``, disordered summaries, qualities outside
    ///   1…100, a JPEG count without qualities, a patch count < 1).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        imageCount = try container.decode(Int.self, forKey: .imageCount)
        formats = try container.decode([String: Int].self, forKey: .formats)
        bitDepths = try container.decode([String: Int].self, forKey: .bitDepths)
        componentCounts = try container.decode([String: Int].self, forKey: .componentCounts)
        chromaLayouts = try container.decode([String: Int].self, forKey: .chromaLayouts)
        standardJPEGCount = try container.decode(Int.self, forKey: .standardJPEGCount)
        nonStandardJPEGCount = try container.decode(Int.self, forKey: .nonStandardJPEGCount)
        jpegQualities = try container.decodeIfPresent(Summary.self, forKey: .jpegQualities)
        widths = try container.decode(Summary.self, forKey: .widths)
        heights = try container.decode(Summary.self, forKey: .heights)
        patchCounts = try container.decode(Summary.self, forKey: .patchCounts)
        tolerance = try container.decode(Tolerance.self, forKey: .tolerance)
        try validate()
    }

    /// Checks the record's internal consistency (see ``init(from:)``).
    func validate() throws(DetectorDomainError) {
        guard imageCount >= 1 else { throw .invalidField(name: "imageCount", value: "\(imageCount)", expected: "at least 1") }
        let jpegCount = standardJPEGCount + nonStandardJPEGCount
        let checks: [(String, [String: Int], Int)] = [
            ("formats", formats, imageCount), ("bitDepths", bitDepths, imageCount),
            ("componentCounts", componentCounts, imageCount), ("chromaLayouts", chromaLayouts, jpegCount),
        ]
        for (name, counts, total) in checks {
            guard counts.values.allSatisfy({ $0 >= 1 }), counts.values.reduce(0, +) == total else {
                throw .invalidField(name: name, value: "\(counts.sorted { $0.key < $1.key })", expected: "positive counts adding up to \(total)")
            }
        }
        if let bad = formats.keys.first(where: { ImageFormat(rawValue: $0) == nil }) {
            throw .invalidField(name: "formats", value: bad, expected: "jpeg or png")
        }
        if let bad = chromaLayouts.keys.first(where: { ChromaLayout(rawValue: $0) == nil }) {
            throw .invalidField(name: "chromaLayouts", value: bad, expected: ChromaLayout.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard standardJPEGCount >= 0, nonStandardJPEGCount >= 0, jpegCount == formats["jpeg", default: 0] else {
            throw .invalidField(name: "standardJPEGCount", value: "\(standardJPEGCount) + \(nonStandardJPEGCount)",
                                expected: "non-negative counts adding up to the \(formats["jpeg", default: 0]) JPEG images")
        }
        switch jpegQualities {
        case nil where jpegCount > 0:
            throw .invalidField(name: "jpegQualities", value: "missing", expected: "a summary of the \(jpegCount) JPEG qualities")
        case let qualities? where !qualities.isOrdered || qualities.minimum < 1 || qualities.maximum > 100 || jpegCount == 0:
            throw .invalidField(name: "jpegQualities", value: "\(qualities)", expected: "ordered qualities in 1…100, for a fit set with JPEGs")
        default: break
        }
        for (name, summary, lowest) in [("widths", widths, 1), ("heights", heights, 1), ("patchCounts", patchCounts, 1)] {
            guard summary.isOrdered, summary.minimum >= lowest else {
                throw .invalidField(name: name, value: "\(summary)", expected: "ordered values of at least \(lowest)")
            }
        }
        try tolerance.validate()
    }
}

/// Why an image lies outside a detector's domain (``DetectorDomain/reasons(for:patchCount:)``).
public enum DomainReason: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The image's format never occurs in the fit set.
    case formatNeverSeen(format: String, fitted: [String])
    /// The image's bit depth never occurs in the fit set (e.g. a 16-bit PNG).
    case bitDepthNeverSeen(bitDepth: Int, fitted: [Int])
    /// The image's stored component count never occurs (e.g. a grey image, a fit set of colour photos).
    case componentCountNeverSeen(components: Int, fitted: [Int])
    /// The JPEG's chroma layout never occurs among the fit set's JPEGs.
    case chromaLayoutNeverSeen(layout: String, fitted: [String])
    /// The JPEG's tables are IJG-standard (`standard`) or not, and no fit JPEG's were.
    case quantisationTablesNeverSeen(standard: Bool)
    /// The JPEG's estimated quality is below the fitted range less the tolerance.
    case jpegQualityBelowRange(quality: Int, fitted: ClosedRange<Int>, tolerance: Int)
    /// The JPEG's estimated quality is above the fitted range plus the tolerance.
    case jpegQualityAboveRange(quality: Int, fitted: ClosedRange<Int>, tolerance: Int)
    /// Fewer patches than the smallest fit image's, less the tolerance.
    case patchCountBelowRange(patchCount: Int, smallestFitted: Int, lowestAccepted: Int)
    /// More patches than the largest fit image's, plus the tolerance.
    case patchCountAboveRange(patchCount: Int, largestFitted: Int, highestAccepted: Int)

    /// A short stable identifier for JSON and tables (`format`, `bit-depth`, `jpeg-quality`, …).
    public var code: String {
        switch self {
        case .formatNeverSeen: "format"
        case .bitDepthNeverSeen: "bit-depth"
        case .componentCountNeverSeen: "components"
        case .chromaLayoutNeverSeen: "chroma"
        case .quantisationTablesNeverSeen: "quantisation-tables"
        case .jpegQualityBelowRange, .jpegQualityAboveRange: "jpeg-quality"
        case .patchCountBelowRange, .patchCountAboveRange: "patch-count"
        }
    }

    /// One sentence for a user: "format png never seen in fit (fitted: jpeg)".
    public var description: String {
        func list<T>(_ values: [T]) -> String { values.map { "\($0)" }.joined(separator: ", ") }
        switch self {
        case .formatNeverSeen(let format, let fitted):
            return "format \(format) never seen in fit (fitted: \(list(fitted)))"
        case .bitDepthNeverSeen(let bitDepth, let fitted):
            return "\(bitDepth)-bit image, fit saw \(list(fitted))-bit only"
        case .componentCountNeverSeen(let components, let fitted):
            return "\(components)-component image (\(components == 1 ? "grey" : components == 2 ? "grey + alpha" : components == 4 ? "with alpha or CMYK" : "colour")), fit saw \(list(fitted))-component images only"
        case .chromaLayoutNeverSeen(let layout, let fitted):
            return "JPEG chroma \(layout) never seen in fit (fitted: \(list(fitted)))"
        case .quantisationTablesNeverSeen(let standard):
            return standard ? "JPEG with IJG-standard tables, fit saw only encoder-specific tables (cameras')"
                : "JPEG with encoder-specific (non-IJG) tables, fit saw only IJG-standard ones"
        case .jpegQualityBelowRange(let quality, let fitted, let tolerance):
            return "JPEG quality \(quality) below fitted range \(fitted.lowerBound)–\(fitted.upperBound) (tolerance \(tolerance))"
        case .jpegQualityAboveRange(let quality, let fitted, let tolerance):
            return "JPEG quality \(quality) above fitted range \(fitted.lowerBound)–\(fitted.upperBound) (tolerance \(tolerance))"
        case .patchCountBelowRange(let patchCount, let smallest, let lowest):
            return "patch count \(patchCount) below the smallest fitted \(smallest) (accepted from \(lowest))"
        case .patchCountAboveRange(let patchCount, let largest, let highest):
            return "patch count \(patchCount) above the largest fitted \(largest) (accepted up to \(highest))"
        }
    }
}

/// Why a ``DetectorDomain`` cannot be built or decoded.
public enum DetectorDomainError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No image was described.
    case empty
    /// A field holds an impossible or inconsistent value.
    case invalidField(name: String, value: String, expected: String)

    /// A one-line explanation naming the field.
    public var description: String {
        switch self {
        case .empty: "detector domain: no images to record"
        case .invalidField(let name, let value, let expected): "detector domain: \(name) = \(value): expected \(expected)"
        }
    }
}
