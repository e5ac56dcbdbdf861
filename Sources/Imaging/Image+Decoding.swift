import CImageCodecs
import Foundation
import Tensor

/// A file format Grain reads and writes.
public enum ImageFormat: String, Codable, Sendable, CaseIterable {
    /// JPEG (ISO 10918), baseline or progressive, through libjpeg-turbo.
    case jpeg
    /// PNG, through libpng.
    case png

    /// The signature each format's files start with.
    var signature: [UInt8] {
        switch self {
        case .jpeg: return [0xFF, 0xD8, 0xFF]
        case .png: return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        }
    }

    /// Recognises a format by the file's first bytes (its signature), as Pillow does — never by
    /// the file name. Returns nil for anything else.
    public init?(signatureOf data: Data) {
        for format in ImageFormat.allCases where data.starts(with: format.signature) {
            self = format
            return
        }
        return nil
    }

    /// The format a file name's extension asks for (`jpg`, `jpeg`, `png`, any case), or nil.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "jpg", "jpeg", "jpe", "jfif": self = .jpeg
        case "png": self = .png
        default: return nil
        }
    }
}

/// What an image file's header declares, read without decoding the pixels.
public struct ImageHeader: Codable, Sendable, Equatable {
    /// The file's format.
    public var format: ImageFormat
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int
    /// Colour components stored in the file (JPEG: 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK; PNG: 1 grey,
    /// 2 grey + alpha, 3 RGB or palette, 4 RGBA).
    public var components: Int
    /// Bits per stored sample (JPEG: 8; PNG: 1, 2, 4, 8 or 16).
    public var bitDepth: Int
    /// True for a progressive JPEG or an Adam7-interlaced PNG.
    public var isProgressive: Bool
    /// The PNG colour type (IHDR); nil for JPEG.
    public var pngColorType: PNGColorType? = nil
}

/// The colour type a PNG's IHDR declares (PNG specification §11.2.2).
public enum PNGColorType: String, Codable, Sendable, CaseIterable {
    /// Colour type 0: grey samples.
    case grey
    /// Colour type 2: red, green and blue samples.
    case rgb
    /// Colour type 3: indices into a palette (PLTE) of 8-bit RGB entries.
    case palette
    /// Colour type 4: grey and alpha samples.
    case greyAlpha = "grey-alpha"
    /// Colour type 6: red, green, blue and alpha samples.
    case rgba

    /// The colour type for IHDR's numeric code, or nil for a code the specification does not define.
    public init?(code: Int) {
        switch code {
        case 0: self = .grey
        case 2: self = .rgb
        case 3: self = .palette
        case 4: self = .greyAlpha
        case 6: self = .rgba
        default: return nil
        }
    }
}

extension Image {
    /// Pillow's `Image.MAX_IMAGE_PIXELS` (89,478,485 = 1024 × 1024 × 1024 / 4 / 3): the default
    /// limit on the pixels a decoder accepts.
    public static let defaultPixelLimit = 89_478_485

    /// The largest pixel limit honoured, whatever the caller asks (2²⁸ = 268,435,456 pixels,
    /// 16,384 × 16,384: 805 MB as 8-bit RGB). A larger limit — or none (`nil`) — is clamped to it,
    /// so no declared size can reach an allocation the machine cannot make.
    public static let maximumPixelLimit = 1 << 28

    /// The pixels a file may declare whatever its size (a 256 × 256 image costs nothing to decode).
    public static let pixelsAllowedAtAnySize = 1 << 16

    /// The most pixels per byte of file a format can encode, so that a tiny file declaring a huge
    /// image (632 bytes declaring 9,000 × 9,000) is refused before it is decoded.
    ///
    /// - JPEG: a Huffman-coded scan spends at least one bit on every 8 × 8 block of the
    ///   full-resolution component (its DC code), so a file holds at most 512 pixels per byte;
    ///   the bound allows twice that. (An arithmetic-coded JPEG of a flat colour can beat it;
    ///   such files are refused as implausible.)
    /// - PNG: deflate compresses at most 1,032 : 1 and a row stores at least one bit per pixel,
    ///   so a file holds at most 8,256 pixels per byte; the bound allows about twice that.
    ///
    /// Real photographs are far below both (a few pixels per byte), and every dev image decodes.
    public static func maximumPixelsPerByte(_ format: ImageFormat) -> Int {
        switch format {
        case .jpeg: return 1024
        case .png: return 16384
        }
    }

    /// The pixel limit actually applied for `requested` (nil = the maximum): at most
    /// ``maximumPixelLimit``, and at least 0.
    public static func effectivePixelLimit(_ requested: Int?) -> Int {
        min(max(requested ?? maximumPixelLimit, 0), maximumPixelLimit)
    }

    /// Decodes a JPEG or PNG file to 8-bit RGB, pixel for pixel as Pillow's
    /// `Image.open(path).convert("RGB")`.
    ///
    /// JPEG goes through libjpeg-turbo with Pillow's settings (accurate integer IDCT, fancy
    /// upsampling, block smoothing, colour space inferred from the JFIF/Adobe markers); grey is
    /// replicated, CMYK converted as Pillow does. PNG goes through libpng: palettes are looked up,
    /// alpha and tRNS are dropped without compositing, 16-bit samples keep their high byte except
    /// 16-bit grey, which Pillow clips to 255. EXIF orientation is not applied (Pillow does not
    /// apply it either), and neither are gamma or ICC profiles.
    ///
    /// - Parameters:
    ///   - url: a file URL.
    ///   - pixelLimit: the most pixels (`width × height`) to accept, checked from the header
    ///     before anything is allocated; nil for the largest, ``maximumPixelLimit``, which also
    ///     caps any larger value. Pillow only warns between one and two times its limit and raises
    ///     above; this limit is strict. A file must also be large enough to hold the pixels it
    ///     declares (``maximumPixelsPerByte(_:)``).
    /// - Throws: ``ImageError`` naming the file: unreadable, truncated, unsupported format, too
    ///   many pixels, corrupt data or out of memory.
    public init(contentsOf url: URL, pixelLimit: Int? = Image.defaultPixelLimit) throws(ImageError) {
        let path = url.isFileURL ? url.path : url.absoluteString
        guard url.isFileURL else { throw ImageError.unreadable(path: path, reason: "not a file URL") }
        let data: Data
        do {
            // Refuses a FIFO, a directory or a device before any open that could block.
            data = try RegularFile.mappedContents(of: url)
        } catch {
            throw ImageError.unreadable(path: path, reason: error.reason)
        }
        try self.init(data: data, name: path, pixelLimit: pixelLimit)
    }

    /// Decodes the JPEG or PNG file at `path`; see ``init(contentsOf:pixelLimit:)``.
    public init(contentsOfFile path: String, pixelLimit: Int? = Image.defaultPixelLimit) throws(ImageError) {
        try self.init(contentsOf: URL(fileURLWithPath: path), pixelLimit: pixelLimit)
    }

    /// Decodes JPEG or PNG bytes; see ``init(contentsOf:pixelLimit:)``.
    ///
    /// - Parameters:
    ///   - data: the encoded file.
    ///   - name: how errors name the data (a file name, a URL).
    ///   - pixelLimit: the most pixels to accept; nil for the largest, ``maximumPixelLimit``.
    public init(data: Data, name: String = "<memory>", pixelLimit: Int? = Image.defaultPixelLimit) throws(ImageError) {
        let header = try Image.header(of: data, name: name)
        let limit = Image.effectivePixelLimit(pixelLimit)
        // Checked arithmetic throughout: the header's fields are the file's word, not facts.
        let (pixelCount, pixelOverflow) = header.width.multipliedReportingOverflow(by: header.height)
        if pixelOverflow || pixelCount > limit {
            throw ImageError.tooManyPixels(path: name, width: header.width, height: header.height, limit: limit)
        }
        let (plausible, plausibleOverflow) = data.count.multipliedReportingOverflow(by: Image.maximumPixelsPerByte(header.format))
        if pixelCount > Image.pixelsAllowedAtAnySize, !plausibleOverflow, pixelCount > plausible {
            throw ImageError.implausibleSize(path: name, width: header.width, height: header.height, byteCount: data.count,
                                             pixelsPerByte: Image.maximumPixelsPerByte(header.format))
        }
        let count = pixelCount * 3  // ≤ 3 × maximumPixelLimit: no overflow
        var status = GrainCodecStatusOK
        var message = [CChar](repeating: 0, count: 256)
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            data.withUnsafeBytes { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                message.withUnsafeMutableBufferPointer { text in
                    switch header.format {
                    case .jpeg:
                        status = grain_jpeg_decode_rgb(bytes.baseAddress, bytes.count, buffer.baseAddress,
                                                       UInt32(header.width), UInt32(header.height),
                                                       text.baseAddress, text.count)
                    case .png:
                        status = grain_png_decode_rgb(bytes.baseAddress, bytes.count, buffer.baseAddress,
                                                      UInt32(header.width), UInt32(header.height),
                                                      text.baseAddress, text.count)
                    }
                }
            }
            // On failure the contents are never read; the array is discarded below.
            initialized = count
        }
        if status != GrainCodecStatusOK {
            throw Image.error(status, message: message, name: name, format: header.format)
        }
        self.init(width: header.width, height: header.height, channels: 3, pixels: pixels)
    }

    /// Reads the header of JPEG or PNG bytes without decoding the pixels.
    ///
    /// - Throws: ``ImageError/unsupportedFormat(path:detail:)`` for data that is neither JPEG nor
    ///   PNG, ``ImageError/truncated(path:detail:)`` when the data ends inside the header or is a
    ///   prefix of a signature, ``ImageError/corrupt(path:detail:)`` for a malformed header.
    public static func header(of data: Data, name: String = "<memory>") throws(ImageError) -> ImageHeader {
        guard let format = ImageFormat(signatureOf: data) else {
            if ImageFormat.allCases.contains(where: { $0.signature.starts(with: data) }) {
                throw ImageError.truncated(path: name, detail: "\(data.count) bytes, shorter than a file signature")
            }
            throw ImageError.unsupportedFormat(path: name, detail: "not a JPEG or PNG file (unrecognised signature)")
        }
        var info = GrainImageInfo()
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            return message.withUnsafeMutableBufferPointer { text in
                switch format {
                case .jpeg: return grain_jpeg_read_info(bytes.baseAddress, bytes.count, &info, text.baseAddress, text.count)
                case .png: return grain_png_read_info(bytes.baseAddress, bytes.count, &info, text.baseAddress, text.count)
                }
            }
        }
        if status != GrainCodecStatusOK {
            throw error(status, message: message, name: name, format: format)
        }
        guard info.width > 0, info.height > 0 else {
            throw ImageError.corrupt(path: name, detail: "the header declares an empty image (\(info.width)×\(info.height))")
        }
        return ImageHeader(format: format, width: Int(info.width), height: Int(info.height),
                           components: Int(info.components), bitDepth: Int(info.bitDepth),
                           isProgressive: info.progressive != 0,
                           pngColorType: format == .png ? PNGColorType(code: Int(info.pngColorType)) : nil)
    }

    /// Maps a codec status and its message to an ``ImageError``.
    static func error(_ status: GrainCodecStatus, message: [CChar], name: String, format: ImageFormat) -> ImageError {
        let text = message.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let detail = "\(format == .jpeg ? "JPEG" : "PNG"): \(text.isEmpty ? "decoder failure" : text)"
        switch status {
        case GrainCodecStatusTruncated: return .truncated(path: name, detail: detail)
        case GrainCodecStatusUnsupported: return .unsupportedFormat(path: name, detail: detail)
        case GrainCodecStatusOutOfMemory: return .outOfMemory(path: name, detail: detail)
        case GrainCodecStatusEncoderFailure, GrainCodecStatusInvalidArgument: return .encodingFailed(path: name, detail: detail)
        default: return .corrupt(path: name, detail: detail)
        }
    }

    /// A short reason for a Foundation I/O error.
    package static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if nsError.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(nsError.code)))
        }
        return nsError.localizedDescription
    }
}
