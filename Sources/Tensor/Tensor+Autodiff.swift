/// A node of the autodiff tape: the inputs of the operation that produced a tensor and the
/// pullback that maps the output's gradient to theirs. Leaves (tensors made with
/// ``Tensor/requiringGradient()``) have no pullback and accumulate the gradient that
/// ``Tensor/gradient`` returns.
public final class GradientNode: @unchecked Sendable {
    /// The name of the operation, for error messages and debugging.
    public let operation: String
    /// The nodes of the inputs; `nil` for inputs that do not require gradients.
    @usableFromInline let inputs: [GradientNode?]
    /// Maps the gradient of the output to one gradient per input (`nil` where not needed).
    @usableFromInline let pullback: ((Tensor) -> [Tensor?])?
    /// The shape of the tensor this node belongs to.
    @usableFromInline let shape: [Int]
    /// The accumulated gradient of a leaf.
    @usableFromInline var gradient: Tensor?

    @usableFromInline init(operation: String, inputs: [GradientNode?], shape: [Int], pullback: ((Tensor) -> [Tensor?])?) {
        self.operation = operation
        self.inputs = inputs
        self.shape = shape
        self.pullback = pullback
    }

    /// Whether this node is a leaf (a tensor the user asked gradients for).
    public var isLeaf: Bool { pullback == nil }
}

/// Whether operations record themselves on the autodiff tape.
///
/// Task-local (and therefore thread-safe): ``Tensor/withoutGradient(_:)`` turns recording off for
/// the work it wraps, on the calling thread or task only.
public enum GradientMode {
    /// `true` unless inside ``Tensor/withoutGradient(_:)``.
    @TaskLocal public static var isEnabled: Bool = true
}

extension Tensor {
    /// Whether this tensor takes part in gradient computation.
    @inlinable public var requiresGradient: Bool { node != nil }

    /// The gradient accumulated by ``backward(_:)`` in a leaf tensor, or `nil`.
    public var gradient: Tensor? { node?.gradient }

    /// A copy of this tensor that is a new autodiff leaf: operations on it are recorded and
    /// ``backward(_:)`` accumulates into its ``gradient``.
    public func requiringGradient() -> Tensor {
        Tensor(storage: storage, shape: shape,
               node: GradientNode(operation: "leaf", inputs: [], shape: shape, pullback: nil))
    }

    /// A copy of this tensor cut from the tape: it shares the storage but records nothing.
    public func detached() -> Tensor {
        Tensor(storage: storage, shape: shape, node: nil)
    }

    /// Clears the accumulated gradient of a leaf.
    public func zeroGradient() { node?.gradient = nil }

    /// Runs `body` without recording any operation on the tape (PyTorch's `torch.no_grad()`).
    public static func withoutGradient<R>(_ body: () throws -> R) rethrows -> R {
        try GradientMode.$isEnabled.withValue(false, operation: body)
    }

    /// Attaches an autodiff node to `result` when recording is on and any input requires a
    /// gradient. The pullback receives the gradient of `result` and returns one gradient per
    /// input, shaped like that input (or `nil` to skip it).
    @inlinable
    public static func record(_ operation: String, _ result: Tensor, inputs: [Tensor],
                              pullback: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard inputs.contains(where: { $0.node != nil }), GradientMode.isEnabled else { return result }
        var out = result
        out.node = GradientNode(operation: operation, inputs: inputs.map { $0.node }, shape: result.shape, pullback: pullback)
        return out
    }

    /// Back-propagates from this tensor: accumulates d(self)/d(leaf) · `seed` into every leaf's
    /// ``gradient``.
    ///
    /// - Parameter seed: the gradient of the final objective with respect to this tensor; may be
    ///   omitted for a one-element tensor (it is then 1).
    public func backward(_ seed: Tensor? = nil) {
        guard let root = node else {
            preconditionFailure("backward: tensor of shape \(shape) does not require a gradient")
        }
        let start: Tensor
        if let seed {
            precondition(seed.shape == shape, "backward: seed shape \(seed.shape) differs from tensor shape \(shape)")
            start = seed.detached()
        } else {
            precondition(count == 1, "backward: a seed gradient is needed for a tensor of shape \(shape)")
            start = Tensor(repeating: 1, shape: shape)
        }
        // Reverse topological order by an iterative depth-first search.
        var order: [GradientNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradientNode, Bool)] = [(root, false)]
        while let (current, expanded) = stack.popLast() {
            if expanded { order.append(current); continue }
            if !visited.insert(ObjectIdentifier(current)).inserted { continue }
            stack.append((current, true))
            for case let input? in current.inputs where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        var gradients: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): start]
        Tensor.withoutGradient {
            for current in order.reversed() {
                guard let g = gradients.removeValue(forKey: ObjectIdentifier(current)) else { continue }
                guard let pullback = current.pullback else {
                    current.gradient = current.gradient.map { $0 + g } ?? g
                    continue
                }
                let inputGradients = pullback(g)
                precondition(inputGradients.count == current.inputs.count,
                             "backward: pullback of \(current.operation) returned \(inputGradients.count) gradients for \(current.inputs.count) inputs")
                for (input, ig) in zip(current.inputs, inputGradients) {
                    guard let input, let ig else { continue }
                    precondition(ig.shape == input.shape,
                                 "backward: pullback of \(current.operation) produced a gradient of shape \(ig.shape) for an input of shape \(input.shape)")
                    let key = ObjectIdentifier(input)
                    gradients[key] = gradients[key].map { $0 + ig } ?? ig
                }
            }
        }
    }

    /// Sums a gradient of a broadcast result back to `shape` (the shape before broadcasting).
    public static func unbroadcast(_ gradient: Tensor, to shape: [Int]) -> Tensor {
        if gradient.shape == shape { return gradient }
        let offset = gradient.rank - shape.count
        var axes: [Int] = Array(0..<offset)
        for i in 0..<shape.count where shape[i] == 1 && gradient.shape[i + offset] != 1 {
            axes.append(i + offset)
        }
        var reduced = axes.isEmpty ? gradient : gradient.sum(alongAxes: axes, keepingDimensions: true)
        if reduced.shape != shape { reduced = reduced.reshaped(shape) }
        return reduced
    }
}
