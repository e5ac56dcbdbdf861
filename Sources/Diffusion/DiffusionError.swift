/// Errors of the diffusion layer that come from its input (a user's level, an image's size),
/// not from a programming mistake (those stop with a `precondition` message).
public enum DiffusionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A noise level outside ``NoiseLevel/range``.
    case noiseLevelOutOfRange(Int)
    /// Images must be `[B, C, H, W]` with B ≥ 1.
    case invalidImageShape([Int])
    /// The height or width is not a multiple of what the codec and denoiser need (8 × 8 = 64
    /// pixels for Stable Diffusion: the VAE's 8× and the U-Net's three 2× downsamplings).
    case sizeNotMultiple(height: Int, width: Int, multiple: Int)
    /// One seed per image is needed.
    case seedCountMismatch(seeds: Int, images: Int)
    /// The progress handler asked to stop, or the task was cancelled.
    case cancelled

    /// A sentence that says what was wrong.
    public var description: String {
        switch self {
        case .noiseLevelOutOfRange(let level):
            return "noise level \(level) is outside \(NoiseLevel.range.lowerBound)…\(NoiseLevel.range.upperBound)"
        case .invalidImageShape(let shape):
            return "images must be [B, C, H, W] with at least one image; got \(shape)"
        case .sizeNotMultiple(let height, let width, let multiple):
            return "image size \(height)×\(width) is not a multiple of \(multiple) in both directions"
        case .seedCountMismatch(let seeds, let images):
            return "\(seeds) seeds for \(images) images; give one seed per image"
        case .cancelled:
            return "restoration cancelled"
        }
    }
}
