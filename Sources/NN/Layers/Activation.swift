import Tensor

/// A parameterless element-wise activation as a layer, for sequential containers.
public final class Activation: Module, Layer, @unchecked Sendable {
    /// The functions available.
    public enum Function: Sendable, Equatable {
        /// `max(x, 0)`.
        case relu
        /// GELU, exact (erf) form.
        case gelu
        /// GELU, tanh approximation.
        case geluTanh
        /// `x · σ(1.702x)` (CLIP).
        case quickGelu
        /// `x · σ(x)`.
        case silu
        /// Logistic sigmoid.
        case sigmoid
        /// Hyperbolic tangent.
        case tanh
        /// `clamp(x, min, max)`.
        case hardtanh(min: Float, max: Float)
    }

    /// The function applied.
    public let function: Function

    /// Creates the activation.
    public init(_ function: Function) {
        self.function = function
        super.init()
    }

    /// Applies the function element-wise.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        switch function {
        case .relu: input.relu()
        case .gelu: input.gelu()
        case .geluTanh: input.geluTanh()
        case .quickGelu: input.quickGelu()
        case .silu: input.silu()
        case .sigmoid: input.sigmoid()
        case .tanh: input.tanh()
        case .hardtanh(let lo, let hi): input.hardtanh(min: lo, max: hi)
        }
    }
}

/// 2-D average pooling as a layer (PyTorch's `nn.AvgPool2d`).
public final class AvgPool2d: Module, Layer, @unchecked Sendable {
    /// Window size.
    public let kernelSize: (Int, Int)
    /// Step between windows.
    public let stride: (Int, Int)
    /// Implicit zero padding.
    public let padding: (Int, Int)
    /// Whether padded zeros count in the divisor (PyTorch's default `true`).
    public let countIncludePadding: Bool

    /// Creates a square pooling layer.
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, countIncludePadding: Bool = true) {
        self.kernelSize = (kernelSize, kernelSize)
        self.stride = (stride ?? kernelSize, stride ?? kernelSize)
        self.padding = (padding, padding)
        self.countIncludePadding = countIncludePadding
        super.init()
    }

    /// Pools `input` `[N, C, H, W]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.avgPool2d(input, kernelSize: kernelSize, stride: stride, padding: padding, countIncludePadding: countIncludePadding)
    }
}

/// Inverted dropout as a layer: active only in training mode, with randomness passed in.
public final class Dropout: Module, @unchecked Sendable {
    /// The probability of zeroing an element.
    public let probability: Float

    /// Creates a dropout layer.
    public init(probability: Float) {
        precondition(probability >= 0 && probability <= 1, "Dropout: probability \(probability) outside [0, 1]")
        self.probability = probability
        super.init()
    }

    /// Drops elements with `generator` in training mode; the identity in evaluation mode.
    public func callAsFunction<G: RandomNumberGenerator>(_ input: Tensor, using generator: inout G) -> Tensor {
        isTraining && probability > 0 ? input.dropout(probability: probability, using: &generator) : input
    }
}

/// A token embedding table (PyTorch's `nn.Embedding`): `weight` `[count, dimension]`.
public final class Embedding: Module, @unchecked Sendable {
    /// The table, `[count, dimension]`.
    public let weight: Parameter

    /// Creates a table drawn from `N(0, 1)` (PyTorch's initialisation).
    public init<G: RandomNumberGenerator>(count: Int, dimension: Int, using generator: inout G) {
        weight = Parameter(Tensor.randomNormal([count, dimension], using: &generator))
        super.init()
    }

    /// Creates a zero table, to be loaded from a checkpoint.
    public init(count: Int, dimension: Int) {
        weight = Parameter(zerosOfShape: [count, dimension])
        super.init()
    }

    /// The parameter `weight`.
    public override var parameters: [(String, Parameter)] { [("weight", weight)] }

    /// Looks up `indices` (row-major, of `indexShape`) → `indexShape + [dimension]`.
    public func callAsFunction(_ indices: [Int], shape indexShape: [Int]) -> Tensor {
        Tensor.embedding(indices: indices, indexShape: indexShape, weight: weight.value)
    }
}

/// Layers applied in order, keyed by index as PyTorch's `nn.Sequential` (indices may skip
/// numbers, where the original has parameterless layers).
public final class Sequential: Module, Layer, @unchecked Sendable {
    /// The layers with their checkpoint indices.
    public let layers: [(index: Int, layer: any Layer)]

    /// Creates a sequence from layers with explicit indices.
    public init(_ layers: [(index: Int, layer: any Layer)]) {
        self.layers = layers
        super.init()
    }

    /// Creates a sequence indexed `0, 1, 2, …`.
    public convenience init(_ layers: [any Layer]) {
        self.init(layers.enumerated().map { (index: $0.offset, layer: $0.element) })
    }

    /// The layers keyed `"0"`, `"1"`, ….
    public override var children: [(String, Module)] { layers.map { (String($0.index), $0.layer as Module) } }

    /// Applies each layer in order.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        layers.reduce(input) { $1.layer($0) }
    }
}
