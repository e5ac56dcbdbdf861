/// Why ``Detector/evidence(_:configuration:path:progress:)`` could not map an image, or an
/// ``EvidenceMap`` could not be drawn. Each case says what to change.
public enum EvidenceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A configuration value is out of range; the message names the field and its range.
    case invalidConfiguration(String)
    /// The image's patch grid (`rows × columns` patches of 16 px) cannot hold one window of
    /// `windowPatches × windowPatches` patches.
    case imageTooSmall(path: String, width: Int, height: Int, rows: Int, columns: Int, windowPatches: Int)
    /// A window of `windowPatches²` patches is more than the detector's tokenizer takes from one
    /// image (`maximumPatches`), so a crop of that size would not be scored whole.
    case windowOverPatchCap(windowPatches: Int, maximumPatches: Int)
    /// The grid and stride give `count` windows, more than the configured limit.
    case tooManyWindows(path: String, count: Int, limit: Int)
    /// The image passed to draw a map is not the size the map was computed for.
    case imageSizeMismatch(expectedWidth: Int, expectedHeight: Int, width: Int, height: Int)
    /// Decoding or scoring failed (unreadable file, non-finite feature); the detector's error
    /// names the file.
    case detector(DetectorError)

    /// A one-line explanation naming the file (when there is one) and the problem.
    public var description: String {
        switch self {
        case let .invalidConfiguration(message):
            return "invalid evidence configuration: \(message)"
        case let .imageTooSmall(path, width, height, rows, columns, window):
            let largest = min(rows, columns)
            let hint = largest >= 1
                ? "use a window of at most \(largest) patches (--window \(largest))"
                : "the image needs at least 16 pixels on each side"
            return "\(path): the \(width)×\(height) image gives a \(rows)×\(columns) grid of 16-px patches, too small for one "
                + "\(window)×\(window)-patch window (\(window * 16) px); \(hint)"
        case let .windowOverPatchCap(window, cap):
            return "a \(window)×\(window)-patch window has \(window * window) patches, more than the detector's tokenizer takes "
                + "from one image (\(cap)); use a smaller window"
        case let .tooManyWindows(path, count, limit):
            return "\(path): \(count) windows, over the limit of \(limit); use a larger stride or window, or raise the limit "
                + "(--max-windows)"
        case let .imageSizeMismatch(expectedWidth, expectedHeight, width, height):
            return "the map was computed for a \(expectedWidth)×\(expectedHeight) image, but a \(width)×\(height) image was given"
        case let .detector(error):
            return error.description
        }
    }
}
