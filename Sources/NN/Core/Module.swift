import Tensor

/// The base of every layer and model: a tree of child modules and parameters whose dotted keys
/// (`group2.3.weight`, `transformer.layers.0.0.fn.to_qkv.weight`) are exactly the keys PyTorch,
/// diffusers and transformers write in their checkpoints, so weights load strictly with no remap
/// table.
///
/// Subclasses list their own parameters in ``parameters`` and their children in ``children``,
/// each under its checkpoint key segment; indexed containers keep the gaps of the original
/// (`group2.0`, `group2.3`, …). Nothing is discovered by reflection.
///
/// Modules start in evaluation mode (``isTraining`` is `false`), unlike PyTorch, because most
/// uses of Grain are inference; call ``train(_:)`` before training.
open class Module: @unchecked Sendable {
    /// Whether the module is in training mode (dropout active).
    public private(set) var isTraining = false

    /// Creates a module.
    public init() {}

    /// The module's own parameters under their key segments (not those of children).
    open var parameters: [(String, Parameter)] { [] }

    /// The child modules under their key segments.
    open var children: [(String, Module)] { [] }

    /// Sets training mode on this module and all descendants.
    public func train(_ training: Bool = true) {
        isTraining = training
        for (_, child) in children { child.train(training) }
    }

    /// Sets evaluation mode on this module and all descendants.
    public func eval() { train(false) }

    /// Every parameter of the tree under its full dotted key, children after own parameters,
    /// in declaration order.
    public func namedParameters() -> [(key: String, parameter: Parameter)] {
        var result: [(key: String, parameter: Parameter)] = []
        collect(prefix: "", into: &result)
        return result
    }

    private func collect(prefix: String, into result: inout [(key: String, parameter: Parameter)]) {
        for (name, parameter) in parameters { result.append((prefix + name, parameter)) }
        for (name, child) in children { child.collect(prefix: prefix + name + ".", into: &result) }
    }

    /// The values of all parameters by key (PyTorch's `state_dict`).
    public func stateDictionary() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.key, $0.parameter.value.detached()) })
    }

    /// The values of the trainable parameters by key, as optimizers take them.
    public func trainableParameters() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters().filter { $0.parameter.isTrainable }.map { ($0.key, $0.parameter.value) })
    }

    /// Writes back values returned by an optimizer (keys from ``trainableParameters()``).
    public func update(_ values: [String: Tensor]) {
        for (key, parameter) in namedParameters() {
            if let v = values[key] { parameter.assign(v) }
        }
    }

    /// Loads parameter values by key.
    ///
    /// - Parameters:
    ///   - tensors: the checkpoint's tensors by key.
    ///   - strict: when `true` (the default), every parameter must be present and every tensor
    ///     must be used, as PyTorch's `load_state_dict(strict=True)`.
    ///   - ignoring: checkpoint keys to skip (such as a head this model does not have).
    /// - Throws: ``ModuleLoadingError`` naming the first key that does not fit; nothing is
    ///   assigned unless every key fits.
    public func load(_ tensors: [String: Tensor], strict: Bool = true, ignoring: Set<String> = []) throws {
        let named = namedParameters()
        var pending: [(Parameter, Tensor)] = []
        for (key, parameter) in named {
            guard let value = tensors[key] else {
                if strict { throw ModuleLoadingError.missingKey(key) }
                continue
            }
            guard value.shape == parameter.shape else {
                throw ModuleLoadingError.shapeMismatch(key: key, expected: parameter.shape, actual: value.shape)
            }
            pending.append((parameter, value))
        }
        if strict {
            let known = Set(named.map(\.key))
            if let extra = tensors.keys.sorted().first(where: { !known.contains($0) && !ignoring.contains($0) }) {
                throw ModuleLoadingError.unexpectedKey(extra)
            }
        }
        for (parameter, value) in pending { parameter.assign(value) }
    }

    /// Freezes (or unfreezes) every parameter of the tree.
    public func setTrainable(_ trainable: Bool) {
        for (_, p) in namedParameters() { p.setTrainable(trainable) }
    }

    /// The number of scalar parameters in the tree (counted from shapes, without allocating
    /// deferred parameters).
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.count } }
}

/// Why a checkpoint does not fit a module.
public enum ModuleLoadingError: Error, Equatable, CustomStringConvertible {
    /// The module has a parameter the checkpoint lacks.
    case missingKey(String)
    /// The checkpoint has a tensor the module has no parameter for.
    case unexpectedKey(String)
    /// The checkpoint's tensor has another shape than the parameter.
    case shapeMismatch(key: String, expected: [Int], actual: [Int])
    /// One of the other errors, found while loading the file at a path.
    indirect case inFile(String, ModuleLoadingError)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .missingKey(let k): "missing key '\(k)': the module has this parameter, the checkpoint does not"
        case .unexpectedKey(let k): "unexpected key '\(k)': the checkpoint has this tensor, the module has no such parameter"
        case .shapeMismatch(let k, let e, let a): "shape mismatch for '\(k)': the module expects \(e), the checkpoint has \(a)"
        case .inFile(let path, let error): "\(path): \(error)"
        }
    }
}

/// A list of child modules keyed by their index, as PyTorch's `nn.Sequential` and
/// `nn.ModuleList` write them. Indices may skip numbers (`0, 1, 3, 4`), as they do where the
/// original interleaves parameterless layers.
public final class IndexedModules: Module, @unchecked Sendable {
    /// The children with their indices.
    public let items: [(index: Int, module: Module)]

    /// Creates a list from explicit indices.
    public init(_ items: [(index: Int, module: Module)]) {
        self.items = items
        super.init()
    }

    /// Creates a list indexed `0, 1, 2, …`.
    public convenience init(_ modules: [Module]) {
        self.init(modules.enumerated().map { (index: $0.offset, module: $0.element) })
    }

    /// The children keyed `"0"`, `"1"`, ….
    public override var children: [(String, Module)] { items.map { (String($0.index), $0.module) } }
}
