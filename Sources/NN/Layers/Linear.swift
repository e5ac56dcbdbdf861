import Tensor

/// A fully connected layer: `y = x · Wᵀ + b`.
///
/// Shapes: input `[…, inputSize]`, `weight` `[outputSize, inputSize]` (PyTorch's layout),
/// `bias` `[outputSize]`, output `[…, outputSize]`. Checkpoint keys: `weight`, `bias`.
public final class Linear: Module, Layer, @unchecked Sendable {
    /// The weight, `[outputSize, inputSize]`.
    public let weight: Parameter
    /// The bias, `[outputSize]`, if any.
    public let bias: Parameter?

    /// Creates a layer initialised as PyTorch's `nn.Linear`, from `generator`.
    ///
    /// - Parameters:
    ///   - inputSize: the number of input features.
    ///   - outputSize: the number of output features.
    ///   - bias: whether to add a learned bias.
    ///   - generator: the source of the initial weights.
    public init<G: RandomNumberGenerator>(inputSize: Int, outputSize: Int, bias: Bool = true, using generator: inout G) {
        weight = Parameter(defaultInitialization([outputSize, inputSize], fanIn: inputSize, using: &generator))
        self.bias = bias ? Parameter(defaultInitialization([outputSize], fanIn: inputSize, using: &generator)) : nil
        super.init()
    }

    /// Creates a layer with zero weights, to be loaded from a checkpoint (allocated only if read
    /// before loading).
    public init(inputSize: Int, outputSize: Int, bias: Bool = true) {
        weight = Parameter(zerosOfShape: [outputSize, inputSize])
        self.bias = bias ? Parameter(zerosOfShape: [outputSize]) : nil
        super.init()
    }

    /// The parameters `weight` and `bias`.
    public override var parameters: [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// `x · Wᵀ + b` over the last axis.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.linear(input, weight: weight.value, bias: bias?.value)
    }
}
