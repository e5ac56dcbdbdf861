// The optimizer protocol, its state-loading errors, and the helpers the optimizers share.
//
// Parameters are addressed by their checkpoint names ("group2.0.weight"), so optimizer state is
// kept per name and can be saved next to the weights.

/// A first-order optimizer with PyTorch semantics, updating named parameters in place.
///
/// Call ``step(_:)`` after `backward()`: it reads each parameter's ``Tensor/gradient``, updates
/// the values, and writes every updated parameter back as a fresh leaf
/// (`updated.requiringGradient()`), so the next forward pass records again and the gradient
/// starts empty — there is no separate `zeroGrad`.
///
/// Gradient transformations (clipping, accumulation over micro-batches, unscaling) are done
/// outside the optimizer on a gradient dictionary, which is then passed to
/// ``step(_:gradients:)``:
///
/// ```swift
/// loss.backward()
/// let (norm, clipped) = clipGradientNorm(parameters, maxNorm: 1)
/// optimizer.learningRate = schedule.learningRate(atStep: iteration)
/// optimizer.step(&parameters, gradients: clipped)
/// ```
public protocol Optimizer {
    /// The learning rate of the next step; set it from a ``LearningRateSchedule`` before each step.
    var learningRate: Float { get set }

    /// Updates every parameter that has an entry in `gradients` and writes it back as a fresh
    /// leaf; parameters without an entry are left untouched.
    ///
    /// - Precondition: every key of `gradients` names a parameter of the same shape.
    mutating func step(_ parameters: inout [String: Tensor], gradients: [String: Tensor])

    /// The per-parameter state (moment buffers, step counts), keyed `"<parameter>.<entry>"` with
    /// PyTorch's entry names (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `step`), for checkpoints.
    var state: [String: Tensor] { get }

    /// Replaces the per-parameter state with one exported by ``state``.
    ///
    /// - Throws: ``OptimizerStateError`` if an entry is unknown, missing or malformed.
    mutating func load(state: [String: Tensor]) throws
}

extension Optimizer {
    /// Updates every parameter that has a ``Tensor/gradient`` (populated by `backward()`) and
    /// writes it back as a fresh leaf; parameters without a gradient are skipped.
    public mutating func step(_ parameters: inout [String: Tensor]) {
        step(&parameters, gradients: parameters.compactMapValues { $0.gradient })
    }
}

/// A failure to load optimizer state (see ``Optimizer/load(state:)``).
public enum OptimizerStateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A key whose entry name this optimizer does not keep.
    case unexpectedKey(String)
    /// A key this optimizer needs, absent from the loaded state.
    case missingKey(String)
    /// An entry whose shape differs from the one expected.
    case shapeMismatch(key: String, expected: [Int], actual: [Int])
    /// An entry whose value is invalid (e.g. a negative or fractional step count).
    case invalidValue(key: String, String)

    /// A human-readable explanation naming the key.
    public var description: String {
        switch self {
        case let .unexpectedKey(key): return "optimizer state: unexpected key \"\(key)\""
        case let .missingKey(key): return "optimizer state: missing key \"\(key)\""
        case let .shapeMismatch(key, expected, actual):
            return "optimizer state: \"\(key)\" has shape \(actual), expected \(expected)"
        case let .invalidValue(key, reason): return "optimizer state: \"\(key)\": \(reason)"
        }
    }
}

/// Splits `"<parameter>.<entry>"` at its last dot (parameter names contain dots, entries do not).
func splitStateKey(_ key: String) -> (parameter: String, entry: String)? {
    guard let dot = key.lastIndex(of: "."), dot != key.startIndex else { return nil }
    return (String(key[..<dot]), String(key[key.index(after: dot)...]))
}

/// A step count stored as a scalar tensor (as PyTorch's `state["step"]`).
func stepCountTensor(_ count: Int) -> Tensor { Tensor(Float(count)) }

/// Reads a step count back from a one-element tensor.
func stepCount(from tensor: Tensor, key: String) throws -> Int {
    guard tensor.count == 1 else {
        throw OptimizerStateError.shapeMismatch(key: key, expected: [], actual: tensor.shape)
    }
    let value = tensor.item
    guard value >= 0, value == value.rounded(), value < 16_777_216 else {
        throw OptimizerStateError.invalidValue(key: key, "step count \(value) is not a non-negative integer")
    }
    return Int(value)
}

/// The parameter and its gradient for one update, checked; the parameter comes out of the
/// dictionary detached so that its storage is uniquely referenced when possible (no copy).
func takeParameter(_ name: String, from parameters: inout [String: Tensor], gradient: Tensor,
                   optimizer: String) -> Tensor {
    guard let parameter = parameters.removeValue(forKey: name) else {
        preconditionFailure("\(optimizer).step: gradient for \"\(name)\" names no parameter")
    }
    precondition(gradient.shape == parameter.shape,
                 "\(optimizer).step: gradient of \"\(name)\" has shape \(gradient.shape), parameter has \(parameter.shape)")
    return parameter.detached()
}
