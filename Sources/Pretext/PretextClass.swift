/// The 11 classes of the pretext task (DESIGN.md §6): the original photo, its VAE reconstruction,
/// and its restorations from the 9 noise levels.
public enum PretextClass: Int, Sendable, Codable, CaseIterable, Comparable {
    /// The original photo (regression target 0).
    case original = 0
    /// Encoded and decoded by the VAE, no noise.
    case reconstruction = 1
    /// Restored from noise level 1 (the mildest).
    case level1 = 2
    /// Restored from noise level 2.
    case level2 = 3
    /// Restored from noise level 3.
    case level3 = 4
    /// Restored from noise level 4.
    case level4 = 5
    /// Restored from noise level 5.
    case level5 = 6
    /// Restored from noise level 6.
    case level6 = 7
    /// Restored from noise level 7.
    case level7 = 8
    /// Restored from noise level 8.
    case level8 = 9
    /// Restored from noise level 9 (the strongest).
    case level9 = 10

    /// The number of classes.
    public static let count = 11

    /// The class of the restoration from noise level `level` (1…9).
    public static func restoration(level: Int) -> PretextClass {
        precondition((1...9).contains(level), "PretextClass.restoration: level \(level) outside 1...9")
        return PretextClass(rawValue: level + 1)!
    }

    /// The noise level (1…9) of a restoration class, `nil` for the original and the reconstruction.
    public var noiseLevel: Int? { rawValue >= 2 ? rawValue - 1 : nil }

    /// Orders classes by their index.
    public static func < (a: PretextClass, b: PretextClass) -> Bool { a.rawValue < b.rawValue }
}
