import Tensor

/// Layer normalisation over the trailing `normalizedShape` with an element-wise affine of that
/// shape (PyTorch's `nn.LayerNorm`): `y = (x − E[x]) / √(Var[x] + ε) · γ + β`, biased variance.
///
/// Shapes: input `[…, *normalizedShape]`; `weight` and `bias` `normalizedShape`.
public final class LayerNorm: Module, Layer, @unchecked Sendable {
    /// The normalised trailing shape (e.g. `[528]` or `[32, 16, 16]`).
    public let normalizedShape: [Int]
    /// The scale γ, if affine.
    public let weight: Parameter?
    /// The shift β, if affine.
    public let bias: Parameter?
    /// Added to the variance.
    public let epsilon: Float

    /// Creates a layer norm with γ = 1, β = 0 (PyTorch's initialisation).
    public init(normalizedShape: [Int], epsilon: Float = 1e-5, elementwiseAffine: Bool = true) {
        self.normalizedShape = normalizedShape
        self.epsilon = epsilon
        weight = elementwiseAffine ? Parameter(Tensor.ones(normalizedShape)) : nil
        bias = elementwiseAffine ? Parameter(Tensor.zeros(normalizedShape)) : nil
        super.init()
    }

    /// The parameters `weight` and `bias`.
    public override var parameters: [(String, Parameter)] {
        (weight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }

    /// Normalises `input` over its trailing `normalizedShape`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.layerNorm(input, normalizedShape: normalizedShape, weight: weight?.value, bias: bias?.value, epsilon: epsilon)
    }
}

/// Group normalisation (PyTorch's `nn.GroupNorm`): channels split into `groups`, each normalised
/// over its channels and all spatial positions, then a per-channel affine.
///
/// Shapes: input `[N, channels, *]`; `weight` and `bias` `[channels]`.
public final class GroupNorm: Module, Layer, @unchecked Sendable {
    /// The number of groups.
    public let groups: Int
    /// The per-channel scale, if affine.
    public let weight: Parameter?
    /// The per-channel shift, if affine.
    public let bias: Parameter?
    /// Added to the variance.
    public let epsilon: Float

    /// Creates a group norm with γ = 1, β = 0.
    public init(groups: Int, channels: Int, epsilon: Float = 1e-5, affine: Bool = true) {
        precondition(groups > 0 && channels % groups == 0, "GroupNorm: \(channels) channels not divisible into \(groups) groups")
        self.groups = groups
        self.epsilon = epsilon
        weight = affine ? Parameter(Tensor.ones([channels])) : nil
        bias = affine ? Parameter(Tensor.zeros([channels])) : nil
        super.init()
    }

    /// The parameters `weight` and `bias`.
    public override var parameters: [(String, Parameter)] {
        (weight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }

    /// Normalises `input` `[N, C, *]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.groupNorm(input, groups: groups, weight: weight?.value, bias: bias?.value, epsilon: epsilon)
    }
}
