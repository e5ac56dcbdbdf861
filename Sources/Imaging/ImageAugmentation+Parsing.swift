import Foundation

extension ImageAugmentation {
    /// Parses the compact text form of a command-line flag: comma-separated terms, each at most
    /// once, in any order —
    ///
    /// | term | meaning |
    /// |---|---|
    /// | `jpeg:70-100` or `jpeg:85` | re-encode every image at a quality drawn from 70…100 (or at 85) |
    /// | `jpeg:70-100@0.5` | … with probability 0.5 |
    /// | `downscale:0.5-1`, `downscale:0.5`, `downscale:0.5-1@0.3` | downscale by a factor drawn from 0.5…1 (probability 1, or 0.3) |
    /// | `png:0.2` | end with a PNG round trip with probability 0.2 |
    /// | `chroma444:90` | 4:4:4 chroma at qualities ≥ 90 (101: never; the default is 90) |
    /// | `chroma422:0.3` | below that, 4:2:2 with probability 0.3, else 4:2:0 (default 0) |
    /// | `none` | nothing (alone) |
    ///
    /// Example: `jpeg:70-100,downscale:0.5-1,png:0.2`. ``description`` writes this form back.
    ///
    /// - Throws: ``ImageAugmentationError/malformedTerm(term:detail:)`` for an unknown, repeated
    ///   or unreadable term; ``ImageAugmentationError/invalidValue(field:value:expected:)`` for an
    ///   impossible range (`jpeg:0-100`, `jpeg:90-70`, `downscale:0-1`, `png:1.5`).
    public init(parsing text: String) throws(ImageAugmentationError) {
        var fields = ImageAugmentation.none
        let terms = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if terms == ["none"] {
            self = fields
            return
        }
        var seen = Set<String>()
        for term in terms {
            guard let colon = term.firstIndex(of: ":") else {
                throw .malformedTerm(term: term, detail: "expected key:value (jpeg, downscale, png, chroma444, chroma422)")
            }
            let key = String(term[..<colon])
            let value = String(term[term.index(after: colon)...])
            guard seen.insert(key).inserted else { throw .malformedTerm(term: term, detail: "'\(key)' is given twice") }
            switch key {
            case "jpeg":
                let (range, probability) = try Self.rangeAndProbability(value, term: term)
                guard let low = Int(exactly: range.lowerBound), let high = Int(exactly: range.upperBound) else {
                    throw .malformedTerm(term: term, detail: "JPEG qualities are whole numbers")
                }
                (fields.jpegMinimumQuality, fields.jpegMaximumQuality, fields.jpegProbability) = (low, high, probability)
            case "downscale":
                let (range, probability) = try Self.rangeAndProbability(value, term: term)
                (fields.downscaleMinimumFactor, fields.downscaleMaximumFactor, fields.downscaleProbability)
                    = (range.lowerBound, range.upperBound, probability)
            case "png":
                fields.pngProbability = try Self.number(value, term: term)
            case "chroma444":
                guard let quality = Int(value) else { throw .malformedTerm(term: term, detail: "expected a whole quality, 1…101") }
                fields.fullChromaMinimumQuality = quality
            case "chroma422":
                fields.chroma422Probability = try Self.number(value, term: term)
            default:
                throw .malformedTerm(term: term, detail: "unknown key '\(key)' (expected jpeg, downscale, png, chroma444, chroma422)")
            }
        }
        try fields.validate()
        self = fields
    }

    /// The compact text form ``init(parsing:)`` reads back to an equal configuration: the
    /// transformations that can happen and the chroma settings that differ from the defaults,
    /// `none` when there is nothing to say.
    public var description: String {
        var terms: [String] = []
        if downscaleProbability > 0 {
            terms.append("downscale:\(Self.format(downscaleMinimumFactor))-\(Self.format(downscaleMaximumFactor))"
                         + (downscaleProbability == 1 ? "" : "@\(Self.format(downscaleProbability))"))
        }
        if jpegProbability > 0 {
            terms.append("jpeg:\(jpegMinimumQuality)-\(jpegMaximumQuality)"
                         + (jpegProbability == 1 ? "" : "@\(Self.format(jpegProbability))"))
        }
        if fullChromaMinimumQuality != 90 { terms.append("chroma444:\(fullChromaMinimumQuality)") }
        if chroma422Probability > 0 { terms.append("chroma422:\(Self.format(chroma422Probability))") }
        if pngProbability > 0 { terms.append("png:\(Self.format(pngProbability))") }
        return terms.isEmpty ? "none" : terms.joined(separator: ",")
    }

    /// `LOW-HIGH` or `VALUE`, optionally followed by `@PROBABILITY` (default 1).
    private static func rangeAndProbability(_ text: String, term: String) throws(ImageAugmentationError) -> (ClosedRange<Double>, Double) {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else { throw .malformedTerm(term: term, detail: "at most one '@probability'") }
        let probability = parts.count == 2 ? try number(parts[1], term: term) : 1
        let bounds = parts[0].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard bounds.count <= 2 else { throw .malformedTerm(term: term, detail: "expected LOW-HIGH or a single value") }
        let low = try number(bounds[0], term: term)
        let high = bounds.count == 2 ? try number(bounds[1], term: term) : low
        guard low <= high else {
            // Reported as the field it would set, like a decoded configuration's.
            let field = term.hasPrefix("jpeg") ? CodingKeys.jpegMinimumQuality : CodingKeys.downscaleMinimumFactor
            throw .invalidValue(field: field.rawValue, value: bounds[0], expected: "at most the upper bound (\(bounds[1]))")
        }
        return (low...high, probability)
    }

    /// A finite number.
    private static func number(_ text: String, term: String) throws(ImageAugmentationError) -> Double {
        guard let value = Double(text), value.isFinite else {
            throw .malformedTerm(term: term, detail: "'\(text)' is not a number")
        }
        return value
    }

    /// The shortest decimal that reads back as `value`.
    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }
}
