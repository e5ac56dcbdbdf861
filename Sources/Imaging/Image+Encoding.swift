import CImageCodecs
import Foundation
import Tensor
#if canImport(Glibc)
import Glibc
#endif

/// How a JPEG encoder samples the two chroma planes relative to luma.
public enum ChromaSubsampling: Int, Sendable, CaseIterable {
    /// 4:4:4 — full-resolution chroma (Pillow's `subsampling=0`).
    case ratio444 = 0
    /// 4:2:2 — chroma halved horizontally (Pillow's `subsampling=1`).
    case ratio422 = 1
    /// 4:2:0 — chroma halved in both directions (Pillow's `subsampling=2`, its default).
    case ratio420 = 2
}

/// A file format and its encoder settings.
public enum ImageEncoding: Sendable, Equatable {
    /// Baseline JPEG as Pillow's `image.save(path, quality=quality)` writes it: libjpeg's standard
    /// quantisation tables scaled by `quality` (1...100, baseline-limited), standard Huffman tables
    /// (no optimisation), a JFIF header, 4:2:0 chroma unless told otherwise. Grey (1 channel) and
    /// RGB (3 channels) images only.
    case jpeg(quality: Int = 75, subsampling: ChromaSubsampling = .ratio420)
    /// Lossless PNG, 8 bits per sample, any channel count, zlib's default compression.
    case png

    /// The encoding a file name's extension asks for (JPEG at quality 75, or PNG), or nil.
    public init?(pathExtension: String) {
        switch ImageFormat(pathExtension: pathExtension) {
        case .jpeg: self = .jpeg()
        case .png: self = .png
        case nil: return nil
        }
    }
}

extension Image {
    /// Encodes the image as a complete JPEG or PNG file.
    ///
    /// With the libjpeg-turbo that Pillow wheels bundle and the system's alike, `.jpeg(quality: q)`
    /// of an RGB image gives the bytes of Pillow's `img.save(path, quality=q)`.
    ///
    /// - Parameters:
    ///   - encoding: JPEG with a quality, or PNG.
    ///   - name: how errors name the output.
    /// - Throws: ``ImageError/encodingFailed(path:detail:)`` for a quality outside 1...100, a
    ///   JPEG of 2 or 4 channels (Pillow refuses those too), or an encoder failure.
    public func encoded(as encoding: ImageEncoding, name: String = "<memory>") throws(ImageError) -> Data {
        var status = GrainCodecStatusOK
        var output: UnsafeMutablePointer<UInt8>?
        var outputSize = 0
        var message = [CChar](repeating: 0, count: 256)
        switch encoding {
        case .jpeg(let quality, let subsampling):
            guard (1...100).contains(quality) else {
                throw ImageError.encodingFailed(path: name, detail: "JPEG quality must be 1...100, got \(quality)")
            }
            guard channels == 1 || channels == 3 else {
                throw ImageError.encodingFailed(path: name, detail: "JPEG stores grey or RGB, not \(channels) channels")
            }
            status = pixels.withUnsafeBufferPointer { buffer in
                message.withUnsafeMutableBufferPointer { text in
                    grain_jpeg_encode(buffer.baseAddress, UInt32(width), UInt32(height), Int32(channels),
                                      Int32(quality), Int32(subsampling.rawValue), &output, &outputSize,
                                      text.baseAddress, text.count)
                }
            }
        case .png:
            status = pixels.withUnsafeBufferPointer { buffer in
                message.withUnsafeMutableBufferPointer { text in
                    grain_png_encode(buffer.baseAddress, UInt32(width), UInt32(height), Int32(channels),
                                     &output, &outputSize, text.baseAddress, text.count)
                }
            }
        }
        guard status == GrainCodecStatusOK, let output else {
            let format: ImageFormat = if case .png = encoding { .png } else { .jpeg }
            throw Image.error(status == GrainCodecStatusOK ? GrainCodecStatusEncoderFailure : status,
                              message: message, name: name, format: format)
        }
        return Data(bytesNoCopy: output, count: outputSize, deallocator: .custom { pointer, _ in grain_codec_free(pointer) })
    }

    /// Encodes the image and writes it atomically: the bytes go to a temporary file in the same
    /// directory, which is flushed to disk and then renamed over `url`, so readers never see a
    /// partial file and an interrupted write leaves any previous file intact.
    ///
    /// - Parameters:
    ///   - url: a file URL.
    ///   - encoding: the format and settings; nil picks them from the extension (`.jpg`/`.jpeg`
    ///     → JPEG at quality 75, `.png` → PNG).
    /// - Throws: ``ImageError/encodingFailed(path:detail:)`` or ``ImageError/unwritable(path:reason:)``.
    public func write(to url: URL, as encoding: ImageEncoding? = nil) throws(ImageError) {
        let path = url.path
        guard let encoding = encoding ?? ImageEncoding(pathExtension: url.pathExtension) else {
            throw ImageError.encodingFailed(path: path, detail: "cannot tell the format from the extension '\(url.pathExtension)'; pass an encoding")
        }
        let data = try encoded(as: encoding, name: path)
        try Image.writeAtomically(data, to: path)
    }

    /// Encodes the image and writes it atomically to `path`; see ``write(to:as:)``.
    public func write(toFile path: String, as encoding: ImageEncoding? = nil) throws(ImageError) {
        try write(to: URL(fileURLWithPath: path), as: encoding)
    }

    /// Writes `data` atomically to `path` (Tensor's `AtomicFile`: a temporary file next to it,
    /// synced, renamed over it).
    static func writeAtomically(_ data: Data, to path: String) throws(ImageError) {
        do {
            try AtomicFile.write(data, to: URL(fileURLWithPath: path))
        } catch let failure as AtomicFile.Failure {
            throw ImageError.unwritable(path: path, reason: failure.reason)
        } catch {
            throw ImageError.unwritable(path: path, reason: "\(error)")
        }
    }
}
