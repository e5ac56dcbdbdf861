import CImageCodecs
import Foundation

/// SHA-256 digests, for content addressing (file bytes, decoded pixels).
public enum ContentHash {
    /// The SHA-256 of `bytes` as 64 lowercase hexadecimal digits.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> String {
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

    /// The SHA-256 of `data` as 64 lowercase hexadecimal digits.
    public static func sha256(_ data: Data) -> String {
        data.withUnsafeBytes { sha256($0) }
    }

    /// The SHA-256 of the file at `url`.
    public static func sha256(contentsOf url: URL) throws -> String {
        sha256(try Data(contentsOf: url, options: .mappedIfSafe))
    }
}
