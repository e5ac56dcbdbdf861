import Tensor

/// A module with a single-tensor forward pass.
public protocol Layer: Module {
    /// Applies the layer.
    func callAsFunction(_ input: Tensor) -> Tensor
}

/// PyTorch's default initialisation for linear and convolution layers: weights and biases drawn
/// uniformly from `±1/√fanIn` (what `kaiming_uniform_(a=√5)` reduces to), from `generator`.
public func defaultInitialization<G: RandomNumberGenerator>(_ shape: [Int], fanIn: Int, using generator: inout G) -> Tensor {
    let bound = 1 / Float(max(fanIn, 1)).squareRoot()
    return Tensor.randomUniform(shape, lower: -bound, upper: bound, using: &generator)
}
