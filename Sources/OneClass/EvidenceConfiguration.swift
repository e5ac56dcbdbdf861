import NN

/// The windows of ``Detector/evidence(_:configuration:path:progress:)``: squares of
/// `windowPatches × windowPatches` patch tokens (16 px each) slid over the image's patch grid
/// by `stridePatches` patches. Validated on creation and on decoding.
///
/// ```swift
/// let configuration = try EvidenceConfiguration(windowPatches: 8, stridePatches: 4)   // 128-px windows, 64-px steps
/// ```
public struct EvidenceConfiguration: Codable, Equatable, Sendable {
    /// The side of a window in patches (≥ 1; the default 8 is 128 px, the smallest random crop
    /// size `grain fit` trains on is 64 px).
    public let windowPatches: Int
    /// The step between windows in patches, in `1...windowPatches` (a larger step would leave
    /// patches that no window covers).
    public let stridePatches: Int
    /// The most windows one image may give (each costs one pass of every extractor over
    /// `windowPatches²` tokens); more is an error, not a silent subsample.
    public let maximumWindows: Int
    /// Windows sent through the extractors together (speed and memory only; the scores do not
    /// depend on it beyond float rounding).
    public let batchSize: Int

    /// The largest accepted ``maximumWindows``.
    public static let windowLimit = 65_536
    /// The largest accepted ``batchSize``.
    public static let batchLimit = 256

    /// 8×8-patch (128 px) windows every 4 patches (64 px), at most 4,096 windows, 16 per batch.
    public static let standard = EvidenceConfiguration(unchecked: 8, 4, 4_096, 16)

    /// Creates a configuration.
    ///
    /// - Throws: ``EvidenceError/invalidConfiguration(_:)`` unless `windowPatches ≥ 1`,
    ///   `1 ≤ stridePatches ≤ windowPatches`, `1 ≤ maximumWindows ≤` ``windowLimit`` and
    ///   `1 ≤ batchSize ≤` ``batchLimit``.
    public init(windowPatches: Int = 8, stridePatches: Int = 4, maximumWindows: Int = 4_096,
                batchSize: Int = 16) throws(EvidenceError) {
        self.init(unchecked: windowPatches, stridePatches, maximumWindows, batchSize)
        try validate()
    }

    private init(unchecked windowPatches: Int, _ stridePatches: Int, _ maximumWindows: Int, _ batchSize: Int) {
        self.windowPatches = windowPatches
        self.stridePatches = stridePatches
        self.maximumWindows = maximumWindows
        self.batchSize = batchSize
    }

    /// Decodes a configuration and validates it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(unchecked: try container.decode(Int.self, forKey: .windowPatches),
                  try container.decode(Int.self, forKey: .stridePatches),
                  try container.decode(Int.self, forKey: .maximumWindows),
                  try container.decode(Int.self, forKey: .batchSize))
        do { try validate() } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    /// The side of a window in pixels.
    public var windowPixels: Int { windowPatches * PatchTokenizer.patchSize }
    /// The step between windows in pixels.
    public var stridePixels: Int { stridePatches * PatchTokenizer.patchSize }

    /// Throws ``EvidenceError/invalidConfiguration(_:)`` for a value out of range.
    public func validate() throws(EvidenceError) {
        guard windowPatches >= 1 else {
            throw .invalidConfiguration("window \(windowPatches) patches, expected at least 1")
        }
        guard stridePatches >= 1 && stridePatches <= windowPatches else {
            throw .invalidConfiguration("stride \(stridePatches) patches, expected 1...\(windowPatches) (at most the window, so every patch is covered)")
        }
        guard maximumWindows >= 1 && maximumWindows <= Self.windowLimit else {
            throw .invalidConfiguration("maximum windows \(maximumWindows), expected 1...\(Self.windowLimit)")
        }
        guard batchSize >= 1 && batchSize <= Self.batchLimit else {
            throw .invalidConfiguration("batch size \(batchSize), expected 1...\(Self.batchLimit)")
        }
    }

    /// The window origins along one axis of `extent` patches: `0, s, 2s, …` while the window
    /// fits, then one window flush with the far edge when the last one does not reach it, so
    /// every patch is covered. Empty when `extent < windowPatches`.
    public func origins(extent: Int) -> [Int] {
        guard extent >= windowPatches else { return [] }
        var result = Array(stride(from: 0, through: extent - windowPatches, by: stridePatches))
        if result.last! + windowPatches < extent { result.append(extent - windowPatches) }
        return result
    }
}
