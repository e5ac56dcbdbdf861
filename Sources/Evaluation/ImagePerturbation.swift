import Foundation
import Imaging

/// A degradation applied to every test image, in memory, for the robustness sweeps of the paper's
/// Fig. 4 (JPEG quality 100 → 70, downscaling 0.9 → 0.5) and the JPEG-vs-PNG confound check.
public indirect enum ImagePerturbation: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The image as decoded.
    case original
    /// A JPEG round trip: encoded at `quality` as Pillow's `img.save(buffer, "JPEG", quality=q)`
    /// (4:2:0 chroma, standard tables), then decoded.
    case jpeg(quality: Int)
    /// Resized by `factor` with Pillow's bicubic filter (antialiased): the new size is
    /// `max(1, round(W·factor)) × max(1, round(H·factor))`.
    case downscale(factor: Double)
    /// A common size for both classes: resized with Pillow's bicubic filter so that the shorter
    /// side is `side` (up or down), then centre-cropped to `side × side` — every image goes
    /// through the same resampling, so size and resampling traces no longer tell the classes apart.
    case matchedSize(side: Int)
    /// `first`, then `second` on its result (e.g. a common size, then a common JPEG quality:
    /// size and format matched at once).
    case composed(ImagePerturbation, ImagePerturbation)
    /// A JPEG round trip (as ``jpeg(quality:)``) at one of `qualities` — the estimated qualities
    /// of the real photos — picked by the image's content (FNV-1a of its pixels modulo the count,
    /// so every run picks the same). Meant for the generated images only: `grain evaluate` leaves
    /// the real photos as decoded in this setting, so generated images get the JPEG traces real
    /// photos already have, at their qualities.
    case jpegAtQualities([Int])

    /// The perturbed image, through Imaging's one implementation of each degradation
    /// (`Image.jpegRoundTrip(quality:subsampling:)` on the RGB image, `Image.downscaled(by:)`).
    ///
    /// - Throws: `ImageError` from the JPEG encoder or decoder, or for a quality outside 1…100 or
    ///   a downscaling factor outside (0, 1].
    public func applied(to image: Image) throws(ImageError) -> Image {
        switch self {
        case .original:
            return image
        case .jpeg(let quality):
            return try image.convertedToRGB().jpegRoundTrip(quality: quality).image
        case .downscale(let factor):
            return try image.downscaled(by: factor)
        case .matchedSize(let side):
            guard side >= 16 else {
                throw .invalidArgument(path: "<memory>", detail: "matched size \(side), expected at least 16")
            }
            let scale = Double(side) / Double(min(image.width, image.height))
            let width = max(side, Int((Double(image.width) * scale).rounded()))
            let height = max(side, Int((Double(image.height) * scale).rounded()))
            let resized = image.resized(width: width, height: height, filter: .bicubic)
            return resized.cropped(x: (width - side) / 2, y: (height - side) / 2, width: side, height: side)
        case .composed(let first, let second):
            return try second.applied(to: first.applied(to: image))
        case .jpegAtQualities(let qualities):
            guard !qualities.isEmpty else { throw .invalidArgument(path: "<memory>", detail: "no JPEG qualities to choose from") }
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in image.pixels { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            return try image.convertedToRGB().jpegRoundTrip(quality: qualities[Int(hash % UInt64(qualities.count))]).image
        }
    }

    /// A short name for files and tables: `original`, `jpeg-q90`, `downscale-0.5`, `size-256+jpeg-q90`.
    public var description: String {
        switch self {
        case .original: "original"
        case .jpeg(let quality): "jpeg-q\(quality)"
        case .downscale(let factor): "downscale-\(Self.trimmed(factor))"
        case .matchedSize(let side): "size-\(side)"
        case .composed(let first, let second): "\(first)+\(second)"
        case .jpegAtQualities: "generated-jpeg-at-real-qualities"
        }
    }

    /// The sweep of the paper's Fig. 4: JPEG at 100, 90, 80, 70, then downscaling by 0.9 … 0.5.
    public static let paperSweep: [ImagePerturbation] =
        [100, 90, 80, 70].map { .jpeg(quality: $0) } + [0.9, 0.8, 0.7, 0.6, 0.5].map { .downscale(factor: $0) }

    static func trimmed(_ value: Double) -> String {
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
