import Tensor

/// A down block of the U-Net: returns its output and the skip connections it hands to the up
/// path (one per residual block, plus the downsampled output).
public protocol UNetDownBlock: Module {
    /// Applies the block to `x` `[N, C, H, W]` with the time embedding `[N, T]` and the text
    /// context `[N, S, D]`; the skips are in the order they are produced.
    func callAsFunction(_ x: Tensor, timeEmbedding: Tensor, context: Tensor) -> (output: Tensor, skips: [Tensor])
}

/// An up block of the U-Net: consumes skip connections from the end of `skips`.
public protocol UNetUpBlock: Module {
    /// Applies the block to `x` with the skips it needs popped from the end of `skips`;
    /// `upsampleSize` is the spatial size the upsampler must produce (that of the next skip),
    /// or `nil` for twice the input.
    func callAsFunction(_ x: Tensor, skips: inout [Tensor], timeEmbedding: Tensor, context: Tensor,
                        upsampleSize: (Int, Int)?) -> Tensor
}

/// Downsampling by a stride-2 3×3 convolution, as diffusers' `Downsample2D(use_conv=True)`.
/// With `padding` 0 (the VAE) the input is first padded by one zero row and column at the bottom
/// and right, as diffusers does; with `padding` 1 (the U-Net) the convolution pads symmetrically.
///
/// Shapes: `[N, C, H, W]` → `[N, outputChannels, ⌈H/2⌉, ⌈W/2⌉]` (padding 1) or `[…, ⌊H/2⌋, ⌊W/2⌋]`
/// (padding 0, for even sizes). Checkpoint key: `conv`.
public final class Downsample2D: Module, Layer, @unchecked Sendable {
    /// The strided convolution.
    public let conv: Conv2d
    /// The convolution's padding (0 means the asymmetric bottom/right pad).
    public let padding: Int

    /// Creates the layer with zero weights.
    public init(channels: Int, outputChannels: Int? = nil, padding: Int = 1) {
        conv = Conv2d(inputChannels: channels, outputChannels: outputChannels ?? channels, kernelSize: 3,
                      stride: 2, padding: padding)
        self.padding = padding
        super.init()
    }

    /// `conv`.
    public override var children: [(String, Module)] { [("conv", conv)] }

    /// Downsamples `x` `[N, C, H, W]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if padding == 0 {
            return conv(x.padded([(0, 0), (0, 0), (0, 1), (0, 1)]))
        }
        return conv(x)
    }
}

/// Upsampling by nearest-neighbour doubling (or resizing to a given size) and a 3×3 convolution,
/// as diffusers' `Upsample2D(use_conv=True)`.
///
/// Shapes: `[N, C, H, W]` → `[N, outputChannels, 2H, 2W]` (or the given size). Checkpoint key:
/// `conv`.
public final class Upsample2D: Module, @unchecked Sendable {
    /// The convolution after the resize.
    public let conv: Conv2d

    /// Creates the layer with zero weights.
    public init(channels: Int, outputChannels: Int? = nil) {
        conv = Conv2d(inputChannels: channels, outputChannels: outputChannels ?? channels, kernelSize: 3, padding: 1)
        super.init()
    }

    /// `conv`.
    public override var children: [(String, Module)] { [("conv", conv)] }

    /// Resizes `x` to `size` (twice its size when `nil`) by nearest neighbour, then convolves.
    public func callAsFunction(_ x: Tensor, size: (Int, Int)? = nil) -> Tensor {
        let target = size ?? (2 * x.shape[2], 2 * x.shape[3])
        return conv(Tensor.upsampleNearest2d(x, size: target))
    }
}

/// A down block with a spatial transformer after each residual block, as diffusers'
/// `CrossAttnDownBlock2D`: `resnets.{i}`, `attentions.{i}`, and `downsamplers.0` unless last.
public final class CrossAttnDownBlock2D: Module, UNetDownBlock, @unchecked Sendable {
    /// The residual blocks.
    public let resnets: [ResnetBlock2D]
    /// The spatial transformers, one after each residual block.
    public let attentions: [Transformer2DModel]
    /// The downsampler, except in the last block.
    public let downsampler: Downsample2D?

    /// Creates the block with zero weights, to be loaded from a checkpoint.
    ///
    /// - Parameters:
    ///   - inputChannels: channels in.
    ///   - outputChannels: channels of every residual block's output.
    ///   - timeEmbeddingChannels: the width of the time embedding.
    ///   - layers: residual/transformer pairs (`layers_per_block`).
    ///   - heads: attention heads (Stable Diffusion v1's `attention_head_dim` = 8); each head is
    ///     `outputChannels / heads` wide.
    ///   - contextDimension: `cross_attention_dim`.
    ///   - groups: group-norm groups.
    ///   - epsilon: the residual blocks' group-norm epsilon.
    ///   - addDownsample: whether the block ends with a downsampler.
    ///   - downsamplePadding: the downsampler's padding.
    ///   - transformerDepth: transformer blocks per spatial transformer.
    ///   - useLinearProjection: linear `proj_in`/`proj_out` (SD 2).
    public init(inputChannels: Int, outputChannels: Int, timeEmbeddingChannels: Int, layers: Int, heads: Int,
                contextDimension: Int, groups: Int, epsilon: Float, addDownsample: Bool, downsamplePadding: Int = 1,
                transformerDepth: Int = 1, useLinearProjection: Bool = false) {
        resnets = ResnetBlock2D.stack(layers: layers, inputChannels: inputChannels, outputChannels: outputChannels,
                                      timeEmbeddingChannels: timeEmbeddingChannels, groups: groups, epsilon: epsilon)
        attentions = (0..<layers).map { _ in
            Transformer2DModel(channels: outputChannels, heads: heads, headDimension: outputChannels / heads,
                               contextDimension: contextDimension, groups: groups, depth: transformerDepth,
                               useLinearProjection: useLinearProjection)
        }
        downsampler = addDownsample ? Downsample2D(channels: outputChannels, padding: downsamplePadding) : nil
        super.init()
    }

    /// `attentions`, `resnets`, `downsamplers` (the order diffusers declares them).
    public override var children: [(String, Module)] {
        var result: [(String, Module)] = [("attentions", IndexedModules(attentions)), ("resnets", IndexedModules(resnets))]
        if let downsampler { result.append(("downsamplers", IndexedModules([downsampler]))) }
        return result
    }

    /// Residual block then transformer, `layers` times, then the downsampler.
    public func callAsFunction(_ x: Tensor, timeEmbedding: Tensor, context: Tensor) -> (output: Tensor, skips: [Tensor]) {
        var h = x
        var skips: [Tensor] = []
        for (resnet, attention) in zip(resnets, attentions) {
            h = attention(resnet(h, timeEmbedding: timeEmbedding), context: context)
            skips.append(h)
        }
        if let downsampler {
            h = downsampler(h)
            skips.append(h)
        }
        return (h, skips)
    }
}

/// A down block of residual blocks only, as diffusers' `DownBlock2D`: `resnets.{i}` and
/// `downsamplers.0` unless last.
public final class DownBlock2D: Module, UNetDownBlock, @unchecked Sendable {
    /// The residual blocks.
    public let resnets: [ResnetBlock2D]
    /// The downsampler, except in the last block.
    public let downsampler: Downsample2D?

    /// Creates the block with zero weights (parameters as ``CrossAttnDownBlock2D``).
    public init(inputChannels: Int, outputChannels: Int, timeEmbeddingChannels: Int, layers: Int, groups: Int,
                epsilon: Float, addDownsample: Bool, downsamplePadding: Int = 1) {
        resnets = ResnetBlock2D.stack(layers: layers, inputChannels: inputChannels, outputChannels: outputChannels,
                                      timeEmbeddingChannels: timeEmbeddingChannels, groups: groups, epsilon: epsilon)
        downsampler = addDownsample ? Downsample2D(channels: outputChannels, padding: downsamplePadding) : nil
        super.init()
    }

    /// `resnets`, `downsamplers`.
    public override var children: [(String, Module)] {
        var result: [(String, Module)] = [("resnets", IndexedModules(resnets))]
        if let downsampler { result.append(("downsamplers", IndexedModules([downsampler]))) }
        return result
    }

    /// The residual blocks, then the downsampler; `context` is not used.
    public func callAsFunction(_ x: Tensor, timeEmbedding: Tensor, context: Tensor) -> (output: Tensor, skips: [Tensor]) {
        var h = x
        var skips: [Tensor] = []
        for resnet in resnets {
            h = resnet(h, timeEmbedding: timeEmbedding)
            skips.append(h)
        }
        if let downsampler {
            h = downsampler(h)
            skips.append(h)
        }
        return (h, skips)
    }
}

/// The U-Net's middle block, as diffusers' `UNetMidBlock2DCrossAttn`: `resnets.0`, then
/// (`attentions.{i}`, `resnets.{i+1}`) pairs (one in Stable Diffusion).
public final class UNetMidBlock2DCrossAttn: Module, @unchecked Sendable {
    /// The residual blocks (one more than the transformers).
    public let resnets: [ResnetBlock2D]
    /// The spatial transformers.
    public let attentions: [Transformer2DModel]

    /// Creates the block with zero weights.
    ///
    /// - Parameters:
    ///   - channels: the channels in and out.
    ///   - timeEmbeddingChannels: the width of the time embedding.
    ///   - heads: attention heads; each head is `channels / heads` wide.
    ///   - contextDimension: `cross_attention_dim`.
    ///   - groups: group-norm groups.
    ///   - epsilon: the residual blocks' group-norm epsilon.
    ///   - outputScaleFactor: the residual blocks' divisor (`mid_block_scale_factor`).
    ///   - layers: transformer/residual pairs after the first residual block.
    ///   - transformerDepth: transformer blocks per spatial transformer.
    ///   - useLinearProjection: linear `proj_in`/`proj_out` (SD 2).
    public init(channels: Int, timeEmbeddingChannels: Int, heads: Int, contextDimension: Int, groups: Int,
                epsilon: Float, outputScaleFactor: Float = 1, layers: Int = 1, transformerDepth: Int = 1,
                useLinearProjection: Bool = false) {
        resnets = (0...layers).map { _ in
            ResnetBlock2D(inputChannels: channels, outputChannels: channels, timeEmbeddingChannels: timeEmbeddingChannels,
                          groups: groups, epsilon: epsilon, outputScaleFactor: outputScaleFactor)
        }
        attentions = (0..<layers).map { _ in
            Transformer2DModel(channels: channels, heads: heads, headDimension: channels / heads,
                               contextDimension: contextDimension, groups: groups, depth: transformerDepth,
                               useLinearProjection: useLinearProjection)
        }
        super.init()
    }

    /// `attentions`, `resnets`.
    public override var children: [(String, Module)] {
        [("attentions", IndexedModules(attentions)), ("resnets", IndexedModules(resnets))]
    }

    /// `resnets.0`, then each transformer followed by its residual block.
    public func callAsFunction(_ x: Tensor, timeEmbedding: Tensor, context: Tensor) -> Tensor {
        var h = resnets[0](x, timeEmbedding: timeEmbedding)
        for (attention, resnet) in zip(attentions, resnets.dropFirst()) {
            h = resnet(attention(h, context: context), timeEmbedding: timeEmbedding)
        }
        return h
    }
}

/// The residual blocks of an up block: block `i` takes the previous output concatenated with one
/// skip (popped from the end), as diffusers builds them.
private func upResnets(inputChannels: Int, previousOutputChannels: Int, outputChannels: Int, timeEmbeddingChannels: Int,
                       layers: Int, groups: Int, epsilon: Float) -> [ResnetBlock2D] {
    (0..<layers).map { i in
        let skipChannels = i == layers - 1 ? inputChannels : outputChannels
        let incoming = i == 0 ? previousOutputChannels : outputChannels
        return ResnetBlock2D(inputChannels: incoming + skipChannels, outputChannels: outputChannels,
                             timeEmbeddingChannels: timeEmbeddingChannels, groups: groups, epsilon: epsilon)
    }
}

/// Pops the last skip and concatenates it after `h` along the channels.
private func concatenateSkip(_ h: Tensor, _ skips: inout [Tensor], block: String) -> Tensor {
    guard let skip = skips.popLast() else { preconditionFailure("\(block): no skip connection left") }
    return Tensor.concatenate([h, skip], axis: 1)
}

/// An up block of residual blocks only, as diffusers' `UpBlock2D`: `resnets.{i}` (each on the
/// concatenation with a skip) and `upsamplers.0` unless last.
public final class UpBlock2D: Module, UNetUpBlock, @unchecked Sendable {
    /// The residual blocks.
    public let resnets: [ResnetBlock2D]
    /// The upsampler, except in the last block.
    public let upsampler: Upsample2D?

    /// Creates the block with zero weights.
    ///
    /// - Parameters:
    ///   - inputChannels: the channels of the matching down block's input (its last skip's width).
    ///   - previousOutputChannels: the channels coming from the block below.
    ///   - outputChannels: channels out.
    ///   - layers: residual blocks (`layers_per_block + 1`).
    ///   - timeEmbeddingChannels: the width of the time embedding.
    ///   - groups: group-norm groups.
    ///   - epsilon: the residual blocks' group-norm epsilon.
    ///   - addUpsample: whether the block ends with an upsampler.
    public init(inputChannels: Int, previousOutputChannels: Int, outputChannels: Int, timeEmbeddingChannels: Int,
                layers: Int, groups: Int, epsilon: Float, addUpsample: Bool) {
        resnets = upResnets(inputChannels: inputChannels, previousOutputChannels: previousOutputChannels,
                            outputChannels: outputChannels, timeEmbeddingChannels: timeEmbeddingChannels,
                            layers: layers, groups: groups, epsilon: epsilon)
        upsampler = addUpsample ? Upsample2D(channels: outputChannels) : nil
        super.init()
    }

    /// `resnets`, `upsamplers`.
    public override var children: [(String, Module)] {
        var result: [(String, Module)] = [("resnets", IndexedModules(resnets))]
        if let upsampler { result.append(("upsamplers", IndexedModules([upsampler]))) }
        return result
    }

    /// Each residual block on `[h, skip]`, then the upsampler; `context` is not used.
    public func callAsFunction(_ x: Tensor, skips: inout [Tensor], timeEmbedding: Tensor, context: Tensor,
                               upsampleSize: (Int, Int)?) -> Tensor {
        var h = x
        for resnet in resnets {
            h = resnet(concatenateSkip(h, &skips, block: "UpBlock2D"), timeEmbedding: timeEmbedding)
        }
        if let upsampler { h = upsampler(h, size: upsampleSize) }
        return h
    }
}

/// An up block with a spatial transformer after each residual block, as diffusers'
/// `CrossAttnUpBlock2D`: `resnets.{i}`, `attentions.{i}`, `upsamplers.0` unless last.
public final class CrossAttnUpBlock2D: Module, UNetUpBlock, @unchecked Sendable {
    /// The residual blocks.
    public let resnets: [ResnetBlock2D]
    /// The spatial transformers.
    public let attentions: [Transformer2DModel]
    /// The upsampler, except in the last block.
    public let upsampler: Upsample2D?

    /// Creates the block with zero weights (parameters as ``UpBlock2D`` and ``CrossAttnDownBlock2D``).
    public init(inputChannels: Int, previousOutputChannels: Int, outputChannels: Int, timeEmbeddingChannels: Int,
                layers: Int, heads: Int, contextDimension: Int, groups: Int, epsilon: Float, addUpsample: Bool,
                transformerDepth: Int = 1, useLinearProjection: Bool = false) {
        resnets = upResnets(inputChannels: inputChannels, previousOutputChannels: previousOutputChannels,
                            outputChannels: outputChannels, timeEmbeddingChannels: timeEmbeddingChannels,
                            layers: layers, groups: groups, epsilon: epsilon)
        attentions = (0..<layers).map { _ in
            Transformer2DModel(channels: outputChannels, heads: heads, headDimension: outputChannels / heads,
                               contextDimension: contextDimension, groups: groups, depth: transformerDepth,
                               useLinearProjection: useLinearProjection)
        }
        upsampler = addUpsample ? Upsample2D(channels: outputChannels) : nil
        super.init()
    }

    /// `attentions`, `resnets`, `upsamplers`.
    public override var children: [(String, Module)] {
        var result: [(String, Module)] = [("attentions", IndexedModules(attentions)), ("resnets", IndexedModules(resnets))]
        if let upsampler { result.append(("upsamplers", IndexedModules([upsampler]))) }
        return result
    }

    /// Each residual block on `[h, skip]` followed by its transformer, then the upsampler.
    public func callAsFunction(_ x: Tensor, skips: inout [Tensor], timeEmbedding: Tensor, context: Tensor,
                               upsampleSize: (Int, Int)?) -> Tensor {
        var h = x
        for (resnet, attention) in zip(resnets, attentions) {
            h = resnet(concatenateSkip(h, &skips, block: "CrossAttnUpBlock2D"), timeEmbedding: timeEmbedding)
            h = attention(h, context: context)
        }
        if let upsampler { h = upsampler(h, size: upsampleSize) }
        return h
    }
}
