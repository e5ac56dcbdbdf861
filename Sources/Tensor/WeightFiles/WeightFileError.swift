/// Why a weight file (safetensors or PyTorch `.pth`) could not be read or written.
///
/// Every case carries the file's path, and ``description`` starts with it, so a message read in a
/// log says which file is at fault and what exactly is wrong with it. Readers never execute
/// anything from the file: a pickle that asks for a callable outside the allowed list fails with
/// ``forbiddenGlobal(path:name:)`` before anything is called.
public enum WeightFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened, mapped, created or renamed (`reason` carries the system error).
    case unreadable(path: String, reason: String)
    /// The file ends before a structure it must contain: `needed` bytes were required, `available` remain.
    case truncated(path: String, needed: Int, available: Int)
    /// A safetensors header length above the format's 100 MB limit.
    case headerTooLarge(path: String, headerLength: UInt64, limit: Int)
    /// A safetensors header length that runs past the end of the file.
    case headerPastEnd(path: String, headerLength: UInt64, fileSize: Int)
    /// A safetensors header that is not the expected JSON (syntax, types or missing fields).
    case invalidHeader(path: String, reason: String)
    /// A tensor stored in a data type this reader does not know.
    case unknownDType(path: String, key: String, dtype: String)
    /// A tensor whose byte range `begin..<end` does not lie inside the data region of `dataSize` bytes.
    case offsetsOutOfRange(path: String, key: String, begin: Int, end: Int, dataSize: Int)
    /// Two tensors whose byte ranges overlap.
    case overlappingOffsets(path: String, key: String, otherKey: String)
    /// Bytes of the data region that belong to no tensor (the safetensors spec forbids gaps and
    /// trailing bytes): `begin..<end` is the first uncovered range.
    case uncoveredData(path: String, begin: Int, end: Int)
    /// A tensor whose stored byte count differs from its shape times its element size.
    case sizeMismatch(path: String, key: String, expected: Int, actual: Int)
    /// A tensor name that is not in the file.
    case missingKey(path: String, key: String)
    /// A tensor name given twice (in a header, a state dict or tensors to write).
    case duplicateKey(path: String, key: String)
    /// A malformed or unsupported zip archive.
    case badZip(path: String, reason: String)
    /// A zip entry compressed with a method other than "stored" (0); `torch.save` never compresses.
    case unsupportedCompression(path: String, entry: String, method: Int)
    /// A pickle opcode this reader does not implement, at byte `position` of `data.pkl`.
    case unsupportedPickleOpcode(path: String, opcode: UInt8, position: Int)
    /// A pickle that names a global outside the allowed list (`"os.system"`, `"builtins.eval"`…).
    case forbiddenGlobal(path: String, name: String)
    /// A pickle stream that is malformed or builds something other than expected.
    case invalidPickle(path: String, reason: String)
    /// A tensor whose view (offset, sizes, strides) reaches outside its storage, or whose storage
    /// entry has the wrong size.
    case invalidTensor(path: String, key: String, reason: String)
    /// Writing failed (`reason` carries the system error); no partial file is left behind.
    case writeFailed(path: String, reason: String)
    /// A floating-point tensor holding `count` NaN or infinite values (the first at flat index
    /// `firstIndex`); refused on load unless the reader was opened accepting them.
    case nonFiniteValues(path: String, key: String, count: Int, firstIndex: Int)
    /// A file that is recognisably something else (`kind`, e.g. `"a PNG image"`), neither a
    /// safetensors file nor a `torch.save` zip.
    case notAWeightFile(path: String, kind: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .unreadable(let path, _), .truncated(let path, _, _), .headerTooLarge(let path, _, _),
             .headerPastEnd(let path, _, _), .invalidHeader(let path, _), .unknownDType(let path, _, _),
             .offsetsOutOfRange(let path, _, _, _, _), .overlappingOffsets(let path, _, _),
             .uncoveredData(let path, _, _), .sizeMismatch(let path, _, _, _), .missingKey(let path, _),
             .duplicateKey(let path, _), .badZip(let path, _), .unsupportedCompression(let path, _, _),
             .unsupportedPickleOpcode(let path, _, _), .forbiddenGlobal(let path, _),
             .invalidPickle(let path, _), .invalidTensor(let path, _, _), .writeFailed(let path, _),
             .nonFiniteValues(let path, _, _, _), .notAWeightFile(let path, _):
            return path
        }
    }

    /// The file's path followed by what is wrong with it.
    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot open the file: \(reason)"
        case .truncated(let path, let needed, let available):
            return "\(path): file is truncated: needed \(needed) bytes, only \(available) available"
        case .headerTooLarge(let path, let length, let limit):
            return "\(path): safetensors header length \(length) exceeds the \(limit)-byte limit"
        case .headerPastEnd(let path, let length, let fileSize):
            return "\(path): safetensors header length \(length) runs past the end of the \(fileSize)-byte file"
        case .invalidHeader(let path, let reason):
            return "\(path): invalid safetensors header: \(reason)"
        case .unknownDType(let path, let key, let dtype):
            return "\(path): tensor '\(key)' has unknown dtype '\(dtype)'"
        case .offsetsOutOfRange(let path, let key, let begin, let end, let dataSize):
            return "\(path): tensor '\(key)' has data offsets [\(begin), \(end)] outside the \(dataSize)-byte data region"
        case .overlappingOffsets(let path, let key, let otherKey):
            return "\(path): tensors '\(otherKey)' and '\(key)' have overlapping data offsets"
        case .uncoveredData(let path, let begin, let end):
            return "\(path): data bytes [\(begin), \(end)) belong to no tensor (the data region must be covered exactly)"
        case .sizeMismatch(let path, let key, let expected, let actual):
            return "\(path): tensor '\(key)' should occupy \(expected) bytes for its shape and dtype, but has \(actual)"
        case .missingKey(let path, let key):
            return "\(path): no tensor named '\(key)'"
        case .duplicateKey(let path, let key):
            return "\(path): tensor name '\(key)' appears more than once"
        case .badZip(let path, let reason):
            return "\(path): not a valid zip archive: \(reason)"
        case .unsupportedCompression(let path, let entry, let method):
            return "\(path): zip entry '\(entry)' uses compression method \(method); only stored (0) entries are supported — re-save with torch.save"
        case .unsupportedPickleOpcode(let path, let opcode, let position):
            let hex = String(opcode, radix: 16)
            return "\(path): unsupported pickle opcode 0x\(hex.count < 2 ? "0" + hex : hex) at byte \(position) of data.pkl"
        case .forbiddenGlobal(let path, let name):
            return "\(path): pickle refers to forbidden global '\(name)' (only tensor-rebuilding globals are allowed; nothing is executed)"
        case .invalidPickle(let path, let reason):
            return "\(path): invalid pickle: \(reason)"
        case .invalidTensor(let path, let key, let reason):
            return "\(path): tensor '\(key)': \(reason)"
        case .writeFailed(let path, let reason):
            return "\(path): cannot write the file: \(reason)"
        case .nonFiniteValues(let path, let key, let count, let firstIndex):
            return "\(path): tensor '\(key)' holds \(count) NaN or infinite value\(count == 1 ? "" : "s") (the first at element \(firstIndex)); refusing to load it"
        case .notAWeightFile(let path, let kind):
            return "\(path): \(kind), not a weights file (expected safetensors or a torch.save zip)"
        }
    }
}
