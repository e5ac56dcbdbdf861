import CImageCodecs
import Foundation

/// How a JPEG's chroma planes are sampled relative to luma, read from its components' sampling
/// factors.
public enum ChromaLayout: String, Codable, Hashable, Sendable, CaseIterable {
    /// One component: no chroma.
    case greyscale = "grey"
    /// Chroma at full resolution (luma and chroma factors equal).
    case ratio444 = "4:4:4"
    /// Chroma halved horizontally (luma 2×1 chroma 1×1).
    case ratio422 = "4:2:2"
    /// Chroma halved in both directions (luma 2×2, chroma 1×1).
    case ratio420 = "4:2:0"
    /// Chroma halved vertically (luma 1×2, chroma 1×1).
    case ratio440 = "4:4:0"
    /// Chroma quartered horizontally (luma 4×1, chroma 1×1).
    case ratio411 = "4:1:1"
    /// Anything else: unequal chroma factors, 4-component (CMYK/YCCK) files, unusual ratios.
    case other

    /// The layout of components with these `(horizontal, vertical)` sampling factors (luma first).
    public init(samplingFactors factors: [JPEGSamplingFactor]) {
        guard factors.count == 3 else {
            self = factors.count == 1 ? .greyscale : .other
            return
        }
        let (luma, blue, red) = (factors[0], factors[1], factors[2])
        guard blue == red, luma.horizontal % blue.horizontal == 0, luma.vertical % blue.vertical == 0 else {
            self = .other
            return
        }
        switch (luma.horizontal / blue.horizontal, luma.vertical / blue.vertical) {
        case (1, 1): self = .ratio444
        case (2, 1): self = .ratio422
        case (2, 2): self = .ratio420
        case (1, 2): self = .ratio440
        case (4, 1): self = .ratio411
        default: self = .other
        }
    }

    /// The encoder setting that writes this layout (Pillow's `subsampling=`), or nil for layouts
    /// Grain's encoder does not write.
    public var subsampling: ChromaSubsampling? {
        switch self {
        case .ratio444: .ratio444
        case .ratio422: .ratio422
        case .ratio420: .ratio420
        default: nil
        }
    }
}

/// One JPEG component's sampling factors (each 1…4).
public struct JPEGSamplingFactor: Codable, Hashable, Sendable {
    /// The horizontal sampling factor.
    public var horizontal: Int
    /// The vertical sampling factor.
    public var vertical: Int

    /// Creates a sampling factor pair.
    public init(horizontal: Int, vertical: Int) {
        self.horizontal = horizontal
        self.vertical = vertical
    }
}

/// What a JPEG header says about how the image was compressed.
public struct JPEGCompression: Codable, Equatable, Sendable {
    /// The quantisation table of the first (luma or grey) component: 64 entries, natural order.
    public var luminanceTable: [Int]
    /// The quantisation table of the second component (chroma), or nil for a grey JPEG.
    public var chrominanceTable: [Int]?
    /// Each component's sampling factors, in frame order.
    public var samplingFactors: [JPEGSamplingFactor]
    /// The chroma subsampling these factors amount to.
    public var chroma: ChromaLayout
    /// The estimated IJG quality of the tables; see ``JPEGQualityEstimate`` for the rule.
    public var quality: JPEGQualityEstimate
}

/// What an image file is, read from its header without decoding the pixels: format, size,
/// sample layout, and for JPEG the quantisation tables, an estimated quality and the chroma
/// subsampling.
///
/// The description is cheap (libjpeg's `jpeg_read_header` or libpng's chunks up to the first
/// IDAT), so it can be taken for every file a detector is fitted on or asked about, to record the
/// domain of the fit and to tell when an image lies outside it.
public struct ImageSourceDescription: Codable, Equatable, Sendable {
    /// Format, size, components, bit depth, interlacing and PNG colour type.
    public var header: ImageHeader
    /// The JPEG compression settings; nil for PNG.
    public var jpeg: JPEGCompression?

    /// Describes JPEG or PNG bytes from their header.
    ///
    /// - Parameters:
    ///   - data: the encoded file (only its header is parsed).
    ///   - name: how errors name the data.
    /// - Throws: ``ImageError`` as ``Image/header(of:name:)`` does; ``ImageError/corrupt(path:detail:)``
    ///   for a JPEG whose components refer to an undefined quantisation table.
    public init(data: Data, name: String = "<memory>") throws(ImageError) {
        header = try Image.header(of: data, name: name)
        jpeg = header.format == .jpeg ? try Self.jpegCompression(of: data, name: name) : nil
    }

    /// Describes the JPEG or PNG file at `url` from its header; see ``init(data:name:)``.
    ///
    /// - Throws: ``ImageError/unreadable(path:reason:)`` when the file cannot be read, else as
    ///   ``init(data:name:)``.
    public init(contentsOf url: URL) throws(ImageError) {
        let path = url.isFileURL ? url.path : url.absoluteString
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw ImageError.unreadable(path: path, reason: Image.reason(error))
        }
        try self.init(data: data, name: path)
    }

    /// Reads a JPEG's tables and sampling factors.
    static func jpegCompression(of data: Data, name: String) throws(ImageError) -> JPEGCompression {
        var tables = GrainJpegTables()
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            return message.withUnsafeMutableBufferPointer { text in
                grain_jpeg_read_tables(bytes.baseAddress, bytes.count, &tables, text.baseAddress, text.count)
            }
        }
        if status != GrainCodecStatusOK {
            throw Image.error(status, message: message, name: name, format: .jpeg)
        }
        let count = min(Int(tables.components), 4)
        let indices = withUnsafeBytes(of: tables.tableIndex) { Array($0.bindMemory(to: Int32.self)) }.map { Int($0) }
        let horizontal = withUnsafeBytes(of: tables.horizontalSampling) { Array($0.bindMemory(to: Int32.self)) }
        let vertical = withUnsafeBytes(of: tables.verticalSampling) { Array($0.bindMemory(to: Int32.self)) }
        let present = withUnsafeBytes(of: tables.tablePresent) { Array($0.bindMemory(to: Int32.self)) }
        let values = withUnsafeBytes(of: tables.tables) { Array($0.bindMemory(to: UInt16.self)) }.map { Int($0) }
        func table(ofComponent component: Int) throws(ImageError) -> [Int] {
            let index = indices[component]
            guard (0..<4).contains(index), present[index] != 0 else {
                throw ImageError.corrupt(path: name, detail: "JPEG: component \(component) uses quantisation table \(index), which the header does not define")
            }
            return Array(values[(index * 64)..<(index * 64 + 64)])
        }
        let factors = (0..<count).map { JPEGSamplingFactor(horizontal: Int(horizontal[$0] as Int32), vertical: Int(vertical[$0] as Int32)) }
        let luminance = try table(ofComponent: 0)
        let chrominance = count >= 3 ? try table(ofComponent: 1) : nil
        let quality = JPEGQualityEstimate.nearest(luminance: luminance, chrominance: chrominance)
        return JPEGCompression(luminanceTable: luminance, chrominanceTable: chrominance, samplingFactors: factors,
                               chroma: ChromaLayout(samplingFactors: factors), quality: quality)
    }
}
