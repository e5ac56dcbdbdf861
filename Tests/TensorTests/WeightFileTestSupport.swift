import Foundation
import Testing
@testable import Tensor

/// The folder of the authors' released checkpoints, found relative to this file
/// (`<repo>/Tests/TensorTests/` → `../../../shared/weights/beyond-generation`).
let authorsWeightsFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/weights/beyond-generation")

/// Whether the authors' checkpoints are present (they are not in the repository, nor on CI).
let authorsWeightsAvailable = FileManager.default.fileExists(atPath: authorsWeightsFolder.appendingPathComponent("basic.pth").path)

/// A fresh temporary folder, removed when `body` returns.
func withTemporaryFolder<R>(_ body: (URL) throws -> R) throws -> R {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-weights-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try body(folder)
}

/// Expects `body` to throw exactly `expected`, and the message to name the file.
func expectWeightError(_ expected: WeightFileError, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(expected), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as WeightFileError {
        #expect(error == expected, sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix(expected.path + ": "), "message should start with the path: \(error)", sourceLocation: sourceLocation)
        print("[weights] \(error)")
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw a ``WeightFileError`` matching `matches` whose message names the file.
func expectWeightError(path: String, sourceLocation: SourceLocation = #_sourceLocation,
                       _ matches: (WeightFileError) -> Bool, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error, but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as WeightFileError {
        #expect(matches(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix(path + ": "), "message should start with the path: \(error)", sourceLocation: sourceLocation)
        print("[weights] \(error)")
    } catch {
        Issue.record("expected a WeightFileError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// The bit patterns of a tensor's elements, for exact comparisons (NaN-safe).
func bitPatterns(_ tensor: Tensor) -> [UInt32] { tensor.scalars.map(\.bitPattern) }

/// Little-endian bytes of an integer.
func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

// MARK: - Building zip archives and pickles from bytes

/// A stored (uncompressed) zip archive of `entries`, optionally in ZIP64 form: ZIP64 end records
/// and extra fields behind saturated classic fields (as `torch.save` writes archives over 4 GB).
/// `method` is written into every entry.
func makeZip(_ entries: [(String, [UInt8])], method: UInt16 = 0, zip64: Bool = false) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    for (name, data) in entries {
        let offset = out.count
        let crc = data.withUnsafeBytes { ZipArchive.crc32($0) }
        let nameBytes = Array(name.utf8)
        out += littleEndianBytes(UInt32(0x0403_4B50)) + littleEndianBytes(UInt16(20)) + littleEndianBytes(UInt16(0))
        out += littleEndianBytes(method) + littleEndianBytes(UInt32(0)) + littleEndianBytes(crc)
        out += littleEndianBytes(UInt32(data.count)) + littleEndianBytes(UInt32(data.count))
        out += littleEndianBytes(UInt16(nameBytes.count)) + littleEndianBytes(UInt16(0)) + nameBytes + data
        central += littleEndianBytes(UInt32(0x0201_4B50)) + littleEndianBytes(UInt16(20)) + littleEndianBytes(UInt16(20))
        central += littleEndianBytes(UInt16(0)) + littleEndianBytes(method) + littleEndianBytes(UInt32(0)) + littleEndianBytes(crc)
        if zip64 {
            // Saturated sizes and offset, with the real values in a ZIP64 extra field (tag 1).
            let extra = littleEndianBytes(UInt16(1)) + littleEndianBytes(UInt16(24)) + littleEndianBytes(UInt64(data.count))
                + littleEndianBytes(UInt64(data.count)) + littleEndianBytes(UInt64(offset))
            central += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
            central += littleEndianBytes(UInt16(nameBytes.count)) + littleEndianBytes(UInt16(extra.count)) + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            central += [0xFF, 0xFF, 0xFF, 0xFF] + nameBytes + extra
        } else {
            central += littleEndianBytes(UInt32(data.count)) + littleEndianBytes(UInt32(data.count))
            central += littleEndianBytes(UInt16(nameBytes.count)) + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            central += littleEndianBytes(UInt32(offset)) + nameBytes
        }
    }
    let directoryOffset = out.count
    out += central
    if zip64 {
        let recordOffset = out.count
        out += littleEndianBytes(UInt32(0x0606_4B50)) + littleEndianBytes(UInt64(44)) + littleEndianBytes(UInt16(45))
        out += littleEndianBytes(UInt16(45)) + littleEndianBytes(UInt32(0)) + littleEndianBytes(UInt32(0))
        out += littleEndianBytes(UInt64(entries.count)) + littleEndianBytes(UInt64(entries.count))
        out += littleEndianBytes(UInt64(central.count)) + littleEndianBytes(UInt64(directoryOffset))
        out += littleEndianBytes(UInt32(0x0706_4B50)) + littleEndianBytes(UInt32(0)) + littleEndianBytes(UInt64(recordOffset))
        out += littleEndianBytes(UInt32(1))
        out += littleEndianBytes(UInt32(0x0605_4B50)) + [0, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0xFF]
        out += [0xFF, 0xFF, 0xFF, 0xFF] + [0xFF, 0xFF, 0xFF, 0xFF] + [0, 0]
    } else {
        out += littleEndianBytes(UInt32(0x0605_4B50)) + [0, 0, 0, 0]
        out += littleEndianBytes(UInt16(entries.count)) + littleEndianBytes(UInt16(entries.count))
        out += littleEndianBytes(UInt32(central.count)) + littleEndianBytes(UInt32(directoryOffset)) + [0, 0]
    }
    return out
}

/// Writes pickle opcodes by name, the way `torch.save` (protocol 2) lays out a state dict.
struct PickleWriter {
    var bytes: [UInt8] = []

    mutating func op(_ opcode: UInt8) { bytes.append(opcode) }
    mutating func proto(_ version: UInt8) { bytes += [0x80, version] }
    mutating func mark() { op(0x28) }
    mutating func tuple() { op(0x74) }
    mutating func stop() { op(0x2E) }
    mutating func emptyDict() { op(0x7D) }
    mutating func emptyTuple() { op(0x29) }
    mutating func setItems() { op(0x75) }
    mutating func reduce() { op(0x52) }
    mutating func newFalse() { op(0x89) }
    mutating func newTrue() { op(0x88) }
    mutating func put(_ index: UInt8) { bytes += [0x71, index] }
    mutating func get(_ index: UInt8) { bytes += [0x68, index] }

    /// BINUNICODE.
    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        op(0x58)
        bytes += littleEndianBytes(UInt32(utf8.count)) + utf8
    }

    /// SHORT_BINUNICODE (protocol 4).
    mutating func shortString(_ text: String) {
        let utf8 = Array(text.utf8)
        bytes += [0x8C, UInt8(utf8.count)] + utf8
    }

    /// BININT1, BININT2 or BININT as the value requires.
    mutating func int(_ value: Int) {
        if (0..<256).contains(value) {
            bytes += [0x4B, UInt8(value)]
        } else if (0..<65536).contains(value) {
            op(0x4D)
            bytes += littleEndianBytes(UInt16(value))
        } else {
            op(0x4A)
            bytes += littleEndianBytes(Int32(value))
        }
    }

    /// GLOBAL "module\nname\n".
    mutating func global(_ module: String, _ name: String) {
        op(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    /// `_rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', count), offset, shape, strides, False, OrderedDict())`.
    mutating func tensor(storageType: String = "FloatStorage", key: String, count: Int, offset: Int = 0,
                         shape: [Int], strides: [Int], requiresGradient: Bool = false) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark()
        string("storage"); global("torch", storageType); string(key); string("cpu"); int(count)
        tuple()
        op(0x51)  // BINPERSID
        int(offset)
        mark(); shape.forEach { int($0) }; tuple()
        mark(); strides.forEach { int($0) }; tuple()
        if requiresGradient { newTrue() } else { newFalse() }
        global("collections", "OrderedDict"); emptyTuple(); reduce()
        tuple()
        reduce()
    }
}

/// A checkpoint archive as `torch.save` lays it out: `<name>/data.pkl`, `<name>/byteorder`,
/// `<name>/data/<key>` for each storage, `<name>/version`.
func makeCheckpoint(name: String = "archive", pickle: [UInt8], storages: [(String, [UInt8])],
                    byteorder: String = "little", zip64: Bool = true) -> [UInt8] {
    var entries: [(String, [UInt8])] = [("\(name)/data.pkl", pickle), ("\(name)/byteorder", Array(byteorder.utf8))]
    entries += storages.map { ("\(name)/data/\($0.0)", $0.1) }
    entries.append(("\(name)/version", Array("3\n".utf8)))
    return makeZip(entries, zip64: zip64)
}

/// The little-endian float32 bytes of `values`.
func float32Bytes(_ values: [Float]) -> [UInt8] { values.flatMap { littleEndianBytes($0.bitPattern) } }
