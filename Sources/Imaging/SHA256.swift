import CImageCodecs
import Foundation
import Tensor

/// SHA-256 (FIPS 180-4) of arbitrary bytes, through the same C implementation as
/// ``Image/pixelDigest``: for recording which weight file a model came from, and for content
/// addressing (the pretext dataset names and seeds everything by its photo's hash).
public enum SHA256 {
    /// The digest of `bytes` as 64 lowercase hex digits (as `sha256sum` prints it).
    public static func hexDigest(_ bytes: UnsafeRawBufferPointer) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { out in
            grain_sha256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, out.baseAddress)
        }
        let hex: [Character] = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(64)
        for byte in digest {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 15)])
        }
        return text
    }

    /// The digest of `data` as 64 lowercase hex digits.
    public static func hexDigest(of data: Data) -> String {
        data.withUnsafeBytes { hexDigest($0) }
    }

    /// The digest of the file at `url` as 64 lowercase hex digits.
    ///
    /// - Throws: ``ImageError/unreadable(path:reason:)`` when the file cannot be read or is not
    ///   a regular file (a FIFO or a directory is refused at once, never waited on).
    public static func hexDigest(ofFileAt url: URL) throws -> String {
        do {
            return hexDigest(of: try RegularFile.mappedContents(of: url))
        } catch {
            throw ImageError.unreadable(path: url.path, reason: error.reason)
        }
    }
}
