import Tensor

/// A learnable (or fixed) tensor owned by a ``Module``, shared by reference so that loading,
/// optimizers and the module's forward pass all see one value.
public final class Parameter: @unchecked Sendable {
    /// The current value. Trainable parameters hold it as an autodiff leaf.
    public private(set) var value: Tensor
    /// Whether the parameter is updated by training (`false` for frozen ones such as the SRM bank).
    public private(set) var isTrainable: Bool

    /// Creates a parameter holding `value`.
    public init(_ value: Tensor, trainable: Bool = true) {
        self.isTrainable = trainable
        self.value = trainable ? value.detached().requiringGradient() : value.detached()
    }

    /// Replaces the value (keeping trainability); the new value starts with no gradient.
    public func assign(_ newValue: Tensor) {
        value = isTrainable ? newValue.detached().requiringGradient() : newValue.detached()
    }

    /// Stops (or resumes) training this parameter.
    public func setTrainable(_ trainable: Bool) {
        isTrainable = trainable
        value = trainable ? value.detached().requiringGradient() : value.detached()
    }

    /// The gradient accumulated by the last backward pass, if any.
    public var gradient: Tensor? { value.gradient }
    /// The shape of the value.
    public var shape: [Int] { value.shape }
}
