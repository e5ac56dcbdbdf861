import Foundation

/// A safetensors file, memory-mapped and validated, whose tensors convert to float32 on demand.
///
/// The format (huggingface/safetensors) is an 8-byte little-endian header length `N`, `N` bytes
/// of JSON — `{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, …,
/// "__metadata__": {"key": "value"}}` — then the data region; offsets are relative to the data
/// region, which the tensors must cover exactly, without gaps or overlaps.
///
/// Opening validates everything the reference implementation validates, and names the problem
/// and the file in a ``WeightFileError``: a header length past the end of the file or above the
/// 100 MB limit, malformed JSON, an unknown dtype, offsets outside the data region, overlapping
/// or uncovered bytes, and byte counts that disagree with shape × element size.
///
/// ```swift
/// let file = try SafeTensors(contentsOf: url)
/// for key in file.keys {
///     let weight = try file.tensor(named: key)   // float32, whatever the stored dtype
/// }
/// ```
///
/// - SeeAlso: ``write(_:metadata:to:)-([String:Tensor],_,_)`` to write one, ``PyTorchCheckpoint`` for `.pth` files.
public struct SafeTensors: WeightFile {
    /// Where one tensor lives in the file and how it is stored.
    public struct TensorInfo: Equatable, Sendable {
        /// The stored element type.
        public let dtype: WeightDType
        /// The extent of each dimension; `[]` for a scalar.
        public let shape: [Int]
        /// The byte range within the data region, as in the header's `data_offsets`.
        public let dataOffsets: Range<Int>
    }

    /// The largest header accepted, as in the reference implementation (100 MB).
    public static let maximumHeaderLength = 100_000_000

    /// The file's location.
    public let url: URL
    /// The tensor names in the order the header lists them.
    public let keys: [String]
    /// The header's `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// The byte offset of the data region in the file: 8 plus the header length.
    public let dataStart: Int
    /// Whether ``tensor(named:)`` and ``doubles(named:)`` return NaN and ±∞ values as stored;
    /// false (the default) refuses them with ``WeightFileError/nonFiniteValues(path:key:count:firstIndex:)``.
    public let acceptsNonFiniteValues: Bool
    private let infos: [String: TensorInfo]
    private let file: MappedFile

    /// The path of the file.
    public var path: String { file.path }

    /// Maps and validates the safetensors file at `url`; its floating-point tensors are refused
    /// when they hold NaN or ±∞ (see ``init(contentsOf:acceptingNonFiniteValues:)``).
    ///
    /// - Throws: ``WeightFileError`` naming the file and the first problem found.
    public init(contentsOf url: URL) throws {
        try self.init(contentsOf: url, acceptingNonFiniteValues: false)
    }

    /// Maps and validates the safetensors file at `url`.
    ///
    /// - Parameters:
    ///   - url: the file.
    ///   - acceptingNonFiniteValues: when false, reading a floating-point tensor that holds a
    ///     NaN or an infinity throws ``WeightFileError/nonFiniteValues(path:key:count:firstIndex:)``
    ///     (a vectorised scan of the converted values); true returns the values as stored
    ///     (for tools that inspect or repair a file).
    /// - Throws: ``WeightFileError`` naming the file and the first problem found; a file that is
    ///   recognisably something else (an image, a zip, a legacy pickle, text) gives
    ///   ``WeightFileError/notAWeightFile(path:kind:)``.
    public init(contentsOf url: URL, acceptingNonFiniteValues: Bool) throws {
        self.url = url
        acceptsNonFiniteValues = acceptingNonFiniteValues
        file = try MappedFile(url: url)
        let path = file.path
        let foreign = { [file] in ForeignContent.kind(of: file.bytes).map { WeightFileError.notAWeightFile(path: path, kind: $0) } }
        guard let headerLength = file.littleEndian(UInt64.self, at: 0) else {
            throw foreign() ?? WeightFileError.truncated(path: path, needed: 8, available: file.count)
        }
        guard headerLength <= UInt64(SafeTensors.maximumHeaderLength) else {
            throw foreign() ?? WeightFileError.headerTooLarge(path: path, headerLength: headerLength, limit: SafeTensors.maximumHeaderLength)
        }
        guard 8 + Int(headerLength) <= file.count else {
            throw foreign() ?? WeightFileError.headerPastEnd(path: path, headerLength: headerLength, fileSize: file.count)
        }
        dataStart = 8 + Int(headerLength)
        let dataSize = file.count - dataStart
        let headerBytes = UnsafeRawBufferPointer(rebasing: file.bytes[8..<dataStart])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw foreign() ?? WeightFileError.invalidHeader(path: path, reason: "the header does not start with '{'")
        }
        let header: OrderedJSON
        do {
            header = try OrderedJSON.parse(headerBytes)
        } catch {
            throw WeightFileError.invalidHeader(path: path, reason: "\(error.reason) at byte \(error.offset) of the header")
        }
        guard case .object(let members) = header else {
            throw WeightFileError.invalidHeader(path: path, reason: "the header is not a JSON object")
        }

        var keys: [String] = []
        var infos: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        var sawMetadata = false
        for (key, value) in members {
            if key == "__metadata__" {
                guard !sawMetadata else { throw WeightFileError.duplicateKey(path: path, key: key) }
                sawMetadata = true
                metadata = try SafeTensors.parseMetadata(value, path: path)
                continue
            }
            guard infos[key] == nil else { throw WeightFileError.duplicateKey(path: path, key: key) }
            let info = try SafeTensors.parseInfo(value, key: key, dataSize: dataSize, path: path)
            keys.append(key)
            infos[key] = info
        }

        // The data region must be covered exactly: sorted by offsets, each range starts where the
        // previous one ended, and the last ends at the end of the file.
        let ordered = keys.sorted {
            let a = infos[$0]!.dataOffsets, b = infos[$1]!.dataOffsets
            return (a.lowerBound, a.upperBound) < (b.lowerBound, b.upperBound)
        }
        var cursor = 0
        var previousKey = ""
        for key in ordered {
            let range = infos[key]!.dataOffsets
            if range.lowerBound < cursor {
                throw WeightFileError.overlappingOffsets(path: path, key: key, otherKey: previousKey)
            }
            if range.lowerBound > cursor {
                throw WeightFileError.uncoveredData(path: path, begin: cursor, end: range.lowerBound)
            }
            cursor = range.upperBound
            previousKey = key
        }
        if cursor != dataSize {
            throw WeightFileError.uncoveredData(path: path, begin: cursor, end: dataSize)
        }
        self.keys = keys
        self.infos = infos
        self.metadata = metadata
    }

    /// The `__metadata__` object: string keys to string values.
    private static func parseMetadata(_ value: OrderedJSON, path: String) throws -> [String: String] {
        guard case .object(let members) = value else {
            throw WeightFileError.invalidHeader(path: path, reason: "__metadata__ is \(value.kindName), not an object")
        }
        var metadata: [String: String] = [:]
        for (key, entry) in members {
            guard case .string(let text) = entry else {
                throw WeightFileError.invalidHeader(path: path, reason: "__metadata__ entry '\(key)' is \(entry.kindName), not a string")
            }
            guard metadata[key] == nil else { throw WeightFileError.duplicateKey(path: path, key: "__metadata__.\(key)") }
            metadata[key] = text
        }
        return metadata
    }

    /// One tensor entry: checks the fields' types, the dtype, the offsets and the byte count.
    private static func parseInfo(_ value: OrderedJSON, key: String, dataSize: Int, path: String) throws -> TensorInfo {
        func invalid(_ reason: String) -> WeightFileError {
            .invalidHeader(path: path, reason: "tensor '\(key)': \(reason)")
        }
        guard case .object(let fields) = value else { throw invalid("entry is \(value.kindName), not an object") }
        func field(_ name: String) throws -> OrderedJSON {
            guard let match = fields.first(where: { $0.key == name }) else { throw invalid("missing '\(name)'") }
            return match.value
        }
        guard case .string(let dtypeName) = try field("dtype") else { throw invalid("'dtype' is not a string") }
        guard case .array(let shapeValues) = try field("shape") else { throw invalid("'shape' is not an array") }
        guard case .array(let offsetValues) = try field("data_offsets") else { throw invalid("'data_offsets' is not an array") }

        var shape: [Int] = []
        for extent in shapeValues {
            guard let n = extent.nonNegativeInteger else { throw invalid("'shape' holds \(extent), not a non-negative integer") }
            shape.append(n)
        }
        guard offsetValues.count == 2, let begin = offsetValues[0].nonNegativeInteger,
              let end = offsetValues[1].nonNegativeInteger else {
            throw invalid("'data_offsets' must be two non-negative integers")
        }
        guard let dtype = WeightDType(safetensorsName: dtypeName) else {
            throw WeightFileError.unknownDType(path: path, key: key, dtype: dtypeName)
        }
        var byteCount = dtype.byteSize
        for extent in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw invalid("shape \(shape) is too large") }
            byteCount = product
        }
        guard begin <= end, end <= dataSize else {
            throw WeightFileError.offsetsOutOfRange(path: path, key: key, begin: begin, end: end, dataSize: dataSize)
        }
        guard end - begin == byteCount else {
            throw WeightFileError.sizeMismatch(path: path, key: key, expected: byteCount, actual: end - begin)
        }
        return TensorInfo(dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// The stored dtype, shape and offsets of the tensor named `key`.
    ///
    /// - Throws: ``WeightFileError/missingKey(path:key:)`` when there is no such tensor.
    public func info(named key: String) throws -> TensorInfo {
        guard let info = infos[key] else { throw WeightFileError.missingKey(path: path, key: key) }
        return info
    }

    /// The shape of the tensor named `key`.
    public func shape(named key: String) throws -> [Int] { try info(named: key).shape }

    /// The tensor named `key`, converted to float32 (F16 and BF16 exactly, F64 and 64-bit
    /// integers rounded to nearest, BOOL to 0 or 1).
    ///
    /// - Throws: ``WeightFileError/missingKey(path:key:)`` when there is no such tensor,
    ///   ``WeightFileError/nonFiniteValues(path:key:count:firstIndex:)`` when a floating-point
    ///   tensor holds NaN or ±∞ (after conversion: an F64 value beyond float32's range is ±∞) and
    ///   the file was not opened accepting them.
    public func tensor(named key: String) throws -> Tensor {
        let info = try info(named: key)
        var result = Tensor(uninitializedShape: info.shape)
        guard result.count > 0, let base = file.bytes.baseAddress else { return result }
        let source = base + dataStart + info.dataOffsets.lowerBound
        let path = self.path, checking = info.dtype.isFloatingPoint && !acceptsNonFiniteValues
        try result.withUnsafeMutableBufferPointer { destination in
            info.dtype.convert(from: source, count: destination.count, littleEndian: true, to: destination.baseAddress!)
            if checking { try Finiteness.check(UnsafeBufferPointer(destination), path: path, key: key) }
        }
        file.releasePages(in: (dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound))
        return result
    }

    /// Calls `body` with the stored bytes of the tensor named `key`, as they are in the file
    /// (little-endian, in its own dtype), without copying them.
    ///
    /// The pointer is valid only during the call.
    public func withStoredBytes<Result>(named key: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        let info = try info(named: key)
        let start = dataStart + info.dataOffsets.lowerBound
        return try body(UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + info.dataOffsets.count)]))
    }
}
