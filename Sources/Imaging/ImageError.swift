/// Why an image could not be read, decoded, encoded or written.
///
/// Every case names the file it concerns (`"<memory>"`, or the name the caller gave, for data that
/// did not come from a file). Malformed input never traps: decoders check every header field and
/// every read against the end of the data, and report the problem here.
public enum ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read (missing, a directory, no permission, I/O error).
    case unreadable(path: String, reason: String)
    /// The data ends before the image does (a cut download, an interrupted copy).
    case truncated(path: String, detail: String)
    /// The data is not a JPEG or PNG, or uses a variant Grain does not decode (for example a
    /// 2-component or 12-bit JPEG).
    case unsupportedFormat(path: String, detail: String)
    /// The header declares more pixels than the limit allows (a decompression bomb guard, checked
    /// before anything is allocated).
    case tooManyPixels(path: String, width: Int, height: Int, limit: Int)
    /// The header declares more pixels than a file of `byteCount` bytes can hold in its format
    /// (at most `pixelsPerByte` per byte; see ``Image/maximumPixelsPerByte(_:)``): a corrupt
    /// or crafted file, refused before it is decoded.
    case implausibleSize(path: String, width: Int, height: Int, byteCount: Int, pixelsPerByte: Int)
    /// The data is malformed: a bad marker, chunk, CRC or entropy-coded segment.
    case corrupt(path: String, detail: String)
    /// Memory for the decoded image could not be allocated.
    case outOfMemory(path: String, detail: String)
    /// The encoder rejected the image (unsupported channel count, out-of-range quality) or failed.
    case encodingFailed(path: String, detail: String)
    /// The encoded file could not be written (missing directory, no permission, disk full).
    case unwritable(path: String, reason: String)
    /// An operation on the image was given an impossible setting (a downscaling factor outside
    /// (0, 1], a JPEG quality outside 1…100).
    case invalidArgument(path: String, detail: String)

    /// The file (or in-memory name) the error concerns.
    public var path: String {
        switch self {
        case .unreadable(let path, _), .truncated(let path, _), .unsupportedFormat(let path, _),
             .tooManyPixels(let path, _, _, _), .implausibleSize(let path, _, _, _, _), .corrupt(let path, _), .outOfMemory(let path, _),
             .encodingFailed(let path, _), .unwritable(let path, _), .invalidArgument(let path, _):
            return path
        }
    }

    /// A one-line explanation naming the file and the problem.
    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot read the file: \(reason)"
        case .truncated(let path, let detail):
            return "\(path): the image data is truncated (\(detail))"
        case .unsupportedFormat(let path, let detail):
            return "\(path): unsupported image format: \(detail)"
        case .tooManyPixels(let path, let width, let height, let limit):
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            return "\(path): \(width)×\(height) = \(overflow ? "too many" : String(pixels)) pixels exceeds the limit of \(limit) "
                + "(a possible decompression bomb; raise the pixel limit to decode it, up to \(Image.maximumPixelLimit))"
        case .implausibleSize(let path, let width, let height, let byteCount, let pixelsPerByte):
            return "\(path): corrupt image data: the header declares \(width)×\(height) pixels, more than a \(byteCount)-byte file "
                + "can hold (at most \(pixelsPerByte) pixels per byte in this format)"
        case .corrupt(let path, let detail):
            return "\(path): corrupt image data: \(detail)"
        case .outOfMemory(let path, let detail):
            return "\(path): out of memory while decoding: \(detail)"
        case .encodingFailed(let path, let detail):
            return "\(path): cannot encode the image: \(detail)"
        case .unwritable(let path, let reason):
            return "\(path): cannot write the file: \(reason)"
        case .invalidArgument(let path, let detail):
            return "\(path): \(detail)"
        }
    }
}
