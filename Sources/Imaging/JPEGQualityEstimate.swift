/// An estimate of the IJG quality setting (libjpeg's `jpeg_set_quality`, which Pillow, GIMP,
/// ImageMagick and most libraries use) that produced a JPEG's quantisation tables.
///
/// **The rule.** For every quality `q` in 1…100 the IJG standard tables (ITU-T T.81 Annex K,
/// as in libjpeg's `jcparam.c`) are scaled as `jpeg_set_quality(q, force_baseline: TRUE)` scales
/// them — `scale = q < 50 ? 5000 / q : 200 − 2q`, entry `= clamp((base · scale + 50) / 100, 1, 255)`
/// in integer arithmetic. The estimate is the `q` whose luminance table (and chrominance table,
/// when the file has chroma) has the smallest mean absolute difference from the file's, entry by
/// entry; a tie goes to the higher quality. When that difference is 0 the file's tables *are* the
/// IJG tables at `q` (``isStandard``), and the estimate is exact: every `q` gives distinct tables.
///
/// **Limits.** Encoders with their own tables — most cameras, Photoshop, mozjpeg's default tables,
/// Apple's ImageIO — are not IJG-scaled: their estimate is the nearest IJG quality (in table
/// magnitude, which is what drives the compression), flagged `isStandard == false` with its
/// ``meanAbsoluteDifference`` as a measure of how far the tables are from any IJG setting. Tables
/// written without baseline clamping (16-bit entries) and a file whose chroma uses the luminance
/// table are estimated the same way.
public struct JPEGQualityEstimate: Codable, Equatable, Hashable, Sendable {
    /// The IJG quality, 1…100, whose scaled standard tables are closest to the file's.
    public var quality: Int
    /// True when the file's tables equal the IJG tables at ``quality`` exactly.
    public var isStandard: Bool
    /// The mean absolute difference between the file's table entries and the IJG ones at
    /// ``quality``, over 64 (grey) or 128 (luminance and chrominance) entries; 0 when standard.
    public var meanAbsoluteDifference: Double

    /// Creates an estimate from its parts (for decoding and tests); see
    /// ``init(luminance:chrominance:)`` for the estimate of a file's tables.
    public init(quality: Int, isStandard: Bool, meanAbsoluteDifference: Double) {
        self.quality = quality
        self.isStandard = isStandard
        self.meanAbsoluteDifference = meanAbsoluteDifference
    }

    /// Estimates the quality of a file's tables.
    ///
    /// - Parameters:
    ///   - luminance: the table of the first (luma or grey) component, 64 entries in natural order.
    ///   - chrominance: the table of the second component (64 entries), or nil for a grey JPEG.
    /// - Returns: nil when a table does not have 64 entries.
    public init?(luminance: [Int], chrominance: [Int]?) {
        guard luminance.count == 64, chrominance.map({ $0.count == 64 }) ?? true else { return nil }
        self = JPEGQualityEstimate.nearest(luminance: luminance, chrominance: chrominance)
    }

    /// The nearest IJG quality to 64-entry tables (the counts are the caller's to check).
    static func nearest(luminance: [Int], chrominance: [Int]?) -> JPEGQualityEstimate {
        var best = (quality: 1, total: Int.max)
        for quality in 1...100 {
            var total = 0
            let scaledLuminance = standardTable(luminanceBase, quality: quality)
            for index in 0..<64 { total += abs(luminance[index] - scaledLuminance[index]) }
            if let chrominance {
                let scaledChrominance = standardTable(chrominanceBase, quality: quality)
                for index in 0..<64 { total += abs(chrominance[index] - scaledChrominance[index]) }
            }
            if total <= best.total { best = (quality, total) }
        }
        let entries = chrominance == nil ? 64 : 128
        return JPEGQualityEstimate(quality: best.quality, isStandard: best.total == 0,
                                   meanAbsoluteDifference: Double(best.total) / Double(entries))
    }

    /// The IJG standard table `base` scaled to `quality` (1…100) as `jpeg_set_quality(quality,
    /// TRUE)` scales it: 64 entries in natural order, each in 1…255.
    public static func standardTable(_ base: [Int], quality: Int) -> [Int] {
        let quality = min(max(quality, 1), 100)
        let scale = quality < 50 ? 5000 / quality : 200 - quality * 2
        return base.map { min(max((($0 * scale) + 50) / 100, 1), 255) }
    }

    /// The IJG (T.81 Annex K.1) luminance table, natural order.
    public static let luminanceBase: [Int] = [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ]

    /// The IJG (T.81 Annex K.1) chrominance table, natural order.
    public static let chrominanceBase: [Int] = [
        17, 18, 24, 47, 99, 99, 99, 99,
        18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99,
    ] + [Int](repeating: 99, count: 32)
}
