import CImageCodecs
import Foundation

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

    /// The digest of the file at `url` as 64 lowercase hex digits (the file is memory-mapped).
    ///
    /// - Throws: Foundation's error when the file cannot be read.
    public static func hexDigest(ofFileAt url: URL) throws -> String {
        hexDigest(of: try Data(contentsOf: url, options: .mappedIfSafe))
    }
}
