import Tensor

/// The residual block of the Stable Diffusion U-Net and VAE, as diffusers' `ResnetBlock2D`
/// (`resnet_time_scale_shift = "default"`, SiLU, no up/down-sampling inside the block):
///
///     h = conv1(SiLU(norm1(x)))
///     h = h + time_emb_proj(SiLU(temb))[:, :, None, None]      (when a time embedding is used)
///     h = conv2(SiLU(norm2(h)))                                 (dropout is the identity in eval)
///     y = (conv_shortcut(x) or x + h) / outputScaleFactor
///
/// Shapes: `x` `[N, inputChannels, H, W]`, `temb` `[N, timeEmbeddingChannels]`, output
/// `[N, outputChannels, H, W]`. Checkpoint keys: `norm1`, `conv1`, `time_emb_proj`, `norm2`,
/// `conv2`, `conv_shortcut` (1×1, only when the channel count changes).
public final class ResnetBlock2D: Module, @unchecked Sendable {
    /// Group norm over the input.
    public let norm1: GroupNorm
    /// 3×3 convolution, `inputChannels → outputChannels`.
    public let conv1: Conv2d
    /// Projection of the time embedding onto the channels (`time_emb_proj`), if any.
    public let timeEmbeddingProjection: Linear?
    /// Group norm after the first convolution.
    public let norm2: GroupNorm
    /// 3×3 convolution, `outputChannels → outputChannels`.
    public let conv2: Conv2d
    /// 1×1 convolution on the skip path (`conv_shortcut`) when the channel count changes.
    public let convShortcut: Conv2d?
    /// The divisor of the sum (diffusers' `output_scale_factor`; 1 in Stable Diffusion).
    public let outputScaleFactor: Float

    /// Creates the block with zero weights, to be loaded from a checkpoint.
    ///
    /// - Parameters:
    ///   - inputChannels: channels in.
    ///   - outputChannels: channels out.
    ///   - timeEmbeddingChannels: the width of the time embedding, or `nil` for none (the VAE).
    ///   - groups: the group-norm groups (both norms).
    ///   - epsilon: the group-norm epsilon (1e-5 in the U-Net, 1e-6 in the VAE).
    ///   - outputScaleFactor: divides the output.
    public init(inputChannels: Int, outputChannels: Int, timeEmbeddingChannels: Int?, groups: Int,
                epsilon: Float, outputScaleFactor: Float = 1) {
        norm1 = GroupNorm(groups: groups, channels: inputChannels, epsilon: epsilon)
        conv1 = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 3, padding: 1)
        timeEmbeddingProjection = timeEmbeddingChannels.map { Linear(inputSize: $0, outputSize: outputChannels) }
        norm2 = GroupNorm(groups: groups, channels: outputChannels, epsilon: epsilon)
        conv2 = Conv2d(inputChannels: outputChannels, outputChannels: outputChannels, kernelSize: 3, padding: 1)
        convShortcut = inputChannels == outputChannels ? nil
            : Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1)
        self.outputScaleFactor = outputScaleFactor
        super.init()
    }

    /// The layers under diffusers' names.
    public override var children: [(String, Module)] {
        var result: [(String, Module)] = [("norm1", norm1), ("conv1", conv1)]
        if let timeEmbeddingProjection { result.append(("time_emb_proj", timeEmbeddingProjection)) }
        result += [("norm2", norm2), ("conv2", conv2)]
        if let convShortcut { result.append(("conv_shortcut", convShortcut)) }
        return result
    }

    /// Applies the block to `x` `[N, C, H, W]` with the time embedding `timeEmbedding`
    /// `[N, T]` (required exactly when the block has `time_emb_proj`).
    public func callAsFunction(_ x: Tensor, timeEmbedding: Tensor? = nil) -> Tensor {
        var h = conv1(norm1.normalizedSiLU(x))
        if let timeEmbeddingProjection {
            guard let timeEmbedding else { preconditionFailure("ResnetBlock2D: this block needs a time embedding") }
            let t = timeEmbeddingProjection(timeEmbedding.silu())
            h = h + t.reshaped([t.shape[0], t.shape[1], 1, 1])
        }
        h = conv2(norm2.normalizedSiLU(h))
        let skip = convShortcut.map { $0(x) } ?? x
        let sum = skip + h
        return outputScaleFactor == 1 ? sum : sum / outputScaleFactor
    }
}

extension GroupNorm {
    /// `SiLU(self(x))`, fused in inference (``Tensor/groupNormSiLU(_:groups:weight:bias:epsilon:)``).
    func normalizedSiLU(_ x: Tensor) -> Tensor {
        Tensor.groupNormSiLU(x, groups: groups, weight: weight?.value, bias: bias?.value, epsilon: epsilon)
    }
}

extension ResnetBlock2D {
    /// The `resnets` of diffusers' down blocks and of the VAE's encoder and decoder blocks:
    /// `layers` blocks, the first `inputChannels → outputChannels`, the others
    /// `outputChannels → outputChannels`.
    static func stack(layers: Int, inputChannels: Int, outputChannels: Int, timeEmbeddingChannels: Int?,
                      groups: Int, epsilon: Float) -> [ResnetBlock2D] {
        (0..<layers).map { i in
            ResnetBlock2D(inputChannels: i == 0 ? inputChannels : outputChannels, outputChannels: outputChannels,
                          timeEmbeddingChannels: timeEmbeddingChannels, groups: groups, epsilon: epsilon)
        }
    }
}
