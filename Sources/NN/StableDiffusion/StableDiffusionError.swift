import Foundation
import Tensor

/// Why a Stable Diffusion part cannot be loaded or run: each case names the file, key or shape
/// at fault.
///
/// Loading can also throw ``ModuleLoadingError`` (a missing, unexpected or mis-shaped tensor,
/// wrapped in ``ModuleLoadingError/inFile(_:_:)`` with the file's path) and `WeightFileError`
/// (an unreadable or malformed weight file).
public enum StableDiffusionError: Error, Equatable, CustomStringConvertible {
    /// A folder that must exist does not (the diffusers folder or one of its parts).
    case missingFolder(path: String)
    /// A file that must exist does not (a `config.json` or the weights, possibly of a variant).
    case missingFile(path: String)
    /// A `config.json` is not valid JSON or holds a value of the wrong type.
    case invalidConfiguration(path: String, reason: String)
    /// A configuration asks for something Grain does not implement (another block type, another
    /// activation, class embeddings, …): the file, the JSON key and the value.
    case unsupportedConfiguration(path: String, key: String, value: String)
    /// A weight is NaN or infinite (fp16 files that overflowed, for instance).
    case nonFiniteWeight(path: String, key: String, index: Int, value: Float)
    /// An input does not fit the model: which model and input, and why (shapes included).
    case invalidInput(model: String, reason: String)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .missingFolder(let path):
            "missing folder '\(path)'"
        case .missingFile(let path):
            "missing file '\(path)'"
        case .invalidConfiguration(let path, let reason):
            "\(path): invalid configuration: \(reason)"
        case .unsupportedConfiguration(let path, let key, let value):
            "\(path): unsupported configuration \"\(key)\": \(value)"
        case .nonFiniteWeight(let path, let key, let index, let value):
            "\(path): tensor '\(key)' holds \(value) at flat index \(index); weights must be finite"
        case .invalidInput(let model, let reason):
            "\(model): \(reason)"
        }
    }
}

/// A configuration value that diffusers accepts either as one value for every block or as a list
/// with one value per block (`attention_head_dim: 8` or `[5, 10, 20, 20]`).
public enum PerBlock<Value: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    /// The same value for every block.
    case shared(Value)
    /// One value per block, in down-block order.
    case perBlock([Value])

    /// Decodes a single value or a list.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let list = try? container.decode([Value].self) {
            self = .perBlock(list)
        } else {
            self = .shared(try container.decode(Value.self))
        }
    }

    /// Encodes the value or the list, as it was read.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .shared(let value): try container.encode(value)
        case .perBlock(let values): try container.encode(values)
        }
    }

    /// The values for `count` blocks (`nil` when a list has another length).
    public func values(count: Int) -> [Value]? {
        switch self {
        case .shared(let value): return Array(repeating: value, count: count)
        case .perBlock(let values): return values.count == count ? values : nil
        }
    }
}

/// Reading `config.json` files: the JSON decoded into a configuration, with decoding errors
/// turned into ``StableDiffusionError/invalidConfiguration(path:reason:)`` naming the file.
enum ConfigurationFile {
    /// The largest `config.json` accepted (diffusers' are a few kilobytes).
    static let maximumSize = 16 << 20

    /// Decodes the configuration at `url`.
    static func read<Configuration: Decodable>(_ type: Configuration.Type, at url: URL) throws -> Configuration {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw StableDiffusionError.missingFile(path: url.path)
        }
        let data: Data
        // A FIFO or a directory is refused before any open that could block.
        do { data = try RegularFile.contents(of: url, maximumSize: ConfigurationFile.maximumSize) } catch {
            throw StableDiffusionError.invalidConfiguration(path: url.path, reason: "unreadable: \(error.reason)")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw StableDiffusionError.invalidConfiguration(path: url.path, reason: describe(error))
        } catch {
            throw StableDiffusionError.invalidConfiguration(path: url.path, reason: "\(error)")
        }
    }

    /// A one-line account of a decoding error with the JSON key path.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\"\(path(context.codingPath))\" is not \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "\"\(path(context.codingPath))\" is null, expected \(type)"
        case .keyNotFound(let key, let context):
            return "missing \"\(path(context.codingPath + [key]))\""
        case .dataCorrupted(let context):
            return "not valid JSON: \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
