import Foundation
import Tensor

/// A learnable (or fixed) tensor owned by a ``Module``, shared by reference so that loading,
/// optimizers and the module's forward pass all see one value.
///
/// A parameter created with ``init(zerosOfShape:trainable:)`` holds only its shape until its
/// value is first read: models built "to be loaded from a checkpoint" then cost no memory, and
/// loading a multi-gigabyte checkpoint (the Stable Diffusion U-Net) never holds a zero copy next
/// to the loaded one. Key and shape checks, ``shape`` and ``Module/parameterCount`` never
/// allocate.
public final class Parameter: @unchecked Sendable {
    private var storedValue: Tensor?
    private let deferredShape: [Int]
    private let lock = NSLock()

    /// The current value. Trainable parameters hold it as an autodiff leaf; a deferred zero
    /// parameter allocates its zeros on the first read.
    public var value: Tensor {
        lock.lock()
        defer { lock.unlock() }
        if let storedValue { return storedValue }
        let zeros = Tensor.zeros(deferredShape)
        let materialized = isTrainable ? zeros.requiringGradient() : zeros
        storedValue = materialized
        return materialized
    }

    /// Whether the parameter is updated by training (`false` for frozen ones such as the SRM bank).
    public private(set) var isTrainable: Bool

    /// Creates a parameter holding `value`.
    public init(_ value: Tensor, trainable: Bool = true) {
        self.isTrainable = trainable
        self.deferredShape = value.shape
        self.storedValue = trainable ? value.detached().requiringGradient() : value.detached()
    }

    /// Creates a zero parameter of `shape` whose memory is allocated only when its value is first
    /// read (usually never: loading assigns the checkpoint's tensor first).
    public init(zerosOfShape shape: [Int], trainable: Bool = true) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Parameter: negative extent in shape \(shape)")
        self.isTrainable = trainable
        self.deferredShape = shape
        self.storedValue = nil
    }

    /// Replaces the value (keeping trainability); the new value starts with no gradient.
    public func assign(_ newValue: Tensor) {
        lock.lock()
        defer { lock.unlock() }
        storedValue = isTrainable ? newValue.detached().requiringGradient() : newValue.detached()
    }

    /// Stops (or resumes) training this parameter.
    public func setTrainable(_ trainable: Bool) {
        lock.lock()
        defer { lock.unlock() }
        isTrainable = trainable
        if let current = storedValue {
            storedValue = trainable ? current.detached().requiringGradient() : current.detached()
        }
    }

    /// The gradient accumulated by the last backward pass, if any.
    public var gradient: Tensor? {
        lock.lock()
        defer { lock.unlock() }
        return storedValue?.gradient
    }

    /// The shape of the value (read without allocating a deferred parameter).
    public var shape: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return storedValue?.shape ?? deferredShape
    }

    /// The number of scalars (read without allocating a deferred parameter).
    public var count: Int { shape.reduce(1, *) }
}
