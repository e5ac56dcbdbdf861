import Tensor

/// A 2-D convolution (PyTorch's `nn.Conv2d`, cross-correlation).
///
/// Shapes: input `[N, inputChannels, H, W]`, `weight`
/// `[outputChannels, inputChannels/groups, kH, kW]`, `bias` `[outputChannels]`, output
/// `[N, outputChannels, H', W']` with `H' = ⌊(H + 2·padding − dilation·(kH − 1) − 1)/stride⌋ + 1`.
public final class Conv2d: Module, Layer, @unchecked Sendable {
    /// The filters, `[outputChannels, inputChannels/groups, kH, kW]`.
    public let weight: Parameter
    /// The bias, `[outputChannels]`, if any.
    public let bias: Parameter?
    /// Step between windows, (vertical, horizontal).
    public let stride: (Int, Int)
    /// Zero padding on each side, (vertical, horizontal).
    public let padding: (Int, Int)
    /// Spacing of kernel taps, (vertical, horizontal).
    public let dilation: (Int, Int)
    /// Number of channel groups (`inputChannels` for a depthwise convolution).
    public let groups: Int

    /// Creates a convolution from given tensors.
    public convenience init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.init(weightParameter: Parameter(weight), biasParameter: bias.map { Parameter($0) },
                  stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// Creates a convolution around given parameters.
    private init(weightParameter weight: Parameter, biasParameter bias: Parameter?, stride: Int, padding: Int,
                 dilation: Int, groups: Int) {
        precondition(weight.shape.count == 4, "Conv2d: weight must be [O, I/groups, kH, kW], got \(weight.shape)")
        precondition(groups > 0 && weight.shape[0] % groups == 0,
                     "Conv2d: \(weight.shape[0]) output channels not divisible by groups \(groups)")
        self.weight = weight
        self.bias = bias
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        self.dilation = (dilation, dilation)
        self.groups = groups
        super.init()
    }

    /// Creates a square-kernel convolution initialised as PyTorch's `nn.Conv2d`, from `generator`.
    public convenience init<G: RandomNumberGenerator>(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        dilation: Int = 1, groups: Int = 1, bias: Bool = true, using generator: inout G
    ) {
        precondition(groups > 0 && inputChannels % groups == 0, "Conv2d: \(inputChannels) input channels not divisible by groups \(groups)")
        let fanIn = inputChannels / groups * kernelSize * kernelSize
        let w = defaultInitialization([outputChannels, inputChannels / groups, kernelSize, kernelSize], fanIn: fanIn, using: &generator)
        let b = bias ? defaultInitialization([outputChannels], fanIn: fanIn, using: &generator) : nil
        self.init(weight: w, bias: b, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// Creates a square-kernel convolution with zero weights, to be loaded from a checkpoint
    /// (allocated only if read before loading).
    public convenience init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        precondition(groups > 0 && inputChannels % groups == 0, "Conv2d: \(inputChannels) input channels not divisible by groups \(groups)")
        self.init(weightParameter: Parameter(zerosOfShape: [outputChannels, inputChannels / groups, kernelSize, kernelSize]),
                  biasParameter: bias ? Parameter(zerosOfShape: [outputChannels]) : nil,
                  stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// The parameters `weight` and `bias`.
    public override var parameters: [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// Convolves `input` `[N, C, H, W]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.conv2d(input, weight: weight.value, bias: bias?.value, stride: stride, padding: padding,
                      dilation: dilation, groups: groups)
    }
}
