import Foundation
import Tensor

extension Module {
    /// Loads parameters from a weight file (safetensors or a PyTorch `.pth`), strictly by default.
    ///
    /// Keys and shapes are checked against the file's header before any tensor is converted, and
    /// nothing is assigned unless every key fits and every tensor reads.
    ///
    /// - Parameters:
    ///   - file: an open `WeightFile` (see `openWeightFile(at:)`).
    ///   - strict: require every parameter present and every tensor used.
    ///   - ignoring: file keys to skip.
    /// - Throws: ``ModuleLoadingError/inFile(_:_:)`` naming the file and the key, or the file's
    ///   `WeightFileError`.
    public func load(from file: any WeightFile, strict: Bool = true, ignoring: Set<String> = []) throws {
        let named = namedParameters()
        let available = Set(file.keys)
        var pending: [(Parameter, String)] = []
        do {
            for (key, parameter) in named {
                guard available.contains(key) else {
                    if strict { throw ModuleLoadingError.missingKey(key) }
                    continue
                }
                let shape = try file.shape(named: key)
                guard shape == parameter.shape else {
                    throw ModuleLoadingError.shapeMismatch(key: key, expected: parameter.shape, actual: shape)
                }
                pending.append((parameter, key))
            }
            if strict {
                let known = Set(named.map(\.key))
                if let extra = file.keys.first(where: { !known.contains($0) && !ignoring.contains($0) }) {
                    throw ModuleLoadingError.unexpectedKey(extra)
                }
            }
        } catch let error as ModuleLoadingError {
            throw ModuleLoadingError.inFile(file.path, error)
        }
        let values = try pending.map { try file.tensor(named: $0.1) }
        for ((parameter, _), value) in zip(pending, values) { parameter.assign(value) }
    }

    /// Loads parameters from the weight file at `url` (safetensors or `.pth`, by content).
    public func load(contentsOf url: URL, strict: Bool = true, ignoring: Set<String> = []) throws {
        try load(from: try openWeightFile(at: url), strict: strict, ignoring: ignoring)
    }

    /// Saves every parameter as a safetensors file (atomically), with string `metadata`.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(stateDictionary(), metadata: metadata, to: url)
    }
}
