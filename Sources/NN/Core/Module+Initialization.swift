import Tensor

extension Module {
    /// Draws fresh values for every trainable parameter of the tree with PyTorch's default
    /// initialisations: `Linear` and `Conv2d` weights and biases uniform in `±1/√fanIn`,
    /// `LayerNorm`/`GroupNorm` scales 1 and shifts 0, `Embedding` tables `N(0, 1)`. Frozen
    /// parameters (such as the SRM bank) keep their values.
    public func initializeParameters<G: RandomNumberGenerator>(using generator: inout G) {
        switch self {
        case let linear as Linear:
            let fanIn = linear.weight.shape[1]
            if linear.weight.isTrainable { linear.weight.assign(defaultInitialization(linear.weight.shape, fanIn: fanIn, using: &generator)) }
            if let bias = linear.bias, bias.isTrainable { bias.assign(defaultInitialization(bias.shape, fanIn: fanIn, using: &generator)) }
        case let convolution as Conv2d:
            let fanIn = convolution.weight.shape.dropFirst().reduce(1, *)
            if convolution.weight.isTrainable {
                convolution.weight.assign(defaultInitialization(convolution.weight.shape, fanIn: fanIn, using: &generator))
            }
            if let bias = convolution.bias, bias.isTrainable { bias.assign(defaultInitialization(bias.shape, fanIn: fanIn, using: &generator)) }
        case let norm as LayerNorm:
            if let w = norm.weight, w.isTrainable { w.assign(Tensor.ones(w.shape)) }
            if let b = norm.bias, b.isTrainable { b.assign(Tensor.zeros(b.shape)) }
        case let norm as GroupNorm:
            if let w = norm.weight, w.isTrainable { w.assign(Tensor.ones(w.shape)) }
            if let b = norm.bias, b.isTrainable { b.assign(Tensor.zeros(b.shape)) }
        case let embedding as Embedding:
            if embedding.weight.isTrainable { embedding.weight.assign(Tensor.randomNormal(embedding.weight.shape, using: &generator)) }
        default:
            break
        }
        for (_, child) in children { child.initializeParameters(using: &generator) }
    }
}
