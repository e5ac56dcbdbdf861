import Foundation
import Tensor

/// The configuration of a ``UNet2DConditionModel``, read from diffusers' `unet/config.json`.
///
/// Property names are Swift's; the coding keys are diffusers' JSON names. A key absent from the
/// JSON takes Stable Diffusion v1.4's value (the default of every property), so
/// `UNet2DConditionConfiguration()` is SD v1.4's U-Net. Keys diffusers writes that Grain does not
/// read (`_class_name`, `_diffusers_version`, `dropout`, …) are ignored; values Grain does not
/// implement are rejected by ``validate(source:)``.
public struct UNet2DConditionConfiguration: Codable, Equatable, Sendable {
    /// `sample_size`: the latent side the model was trained at (informational).
    public var sampleSize: Int? = 64
    /// `in_channels`: latent channels in.
    public var inChannels = 4
    /// `out_channels`: channels of the prediction.
    public var outChannels = 4
    /// `center_input_sample`: map the input through `2x − 1` first.
    public var centerInputSample = false
    /// `flip_sin_to_cos`: cosines first in the timestep features.
    public var flipSinToCos = true
    /// `freq_shift`: the frequency shift of the timestep features.
    public var frequencyShift: Float = 0
    /// `down_block_types`: `CrossAttnDownBlock2D` or `DownBlock2D` per level.
    public var downBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    /// `mid_block_type`: `UNetMidBlock2DCrossAttn`, or `nil` for no middle block.
    public var midBlockType: String? = "UNetMidBlock2DCrossAttn"
    /// `up_block_types`: `UpBlock2D` or `CrossAttnUpBlock2D` per level.
    public var upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    /// `only_cross_attention`: must be `false`.
    public var onlyCrossAttention: PerBlock<Bool> = .shared(false)
    /// `block_out_channels`: channels per level.
    public var blockOutChannels = [320, 640, 1280, 1280]
    /// `layers_per_block`: residual blocks per down level (one more per up level).
    public var layersPerBlock = 2
    /// `downsample_padding`: the downsamplers' padding.
    public var downsamplePadding = 1
    /// `mid_block_scale_factor`: the middle residual blocks' output divisor.
    public var midBlockScaleFactor: Float = 1
    /// `act_fn`: must be `silu`.
    public var activationFunction = "silu"
    /// `norm_num_groups`: group-norm groups.
    public var normNumGroups = 32
    /// `norm_eps`: the residual blocks' group-norm epsilon.
    public var normEpsilon: Float = 1e-5
    /// `cross_attention_dim`: the width of the text context.
    public var crossAttentionDimension = 768
    /// `transformer_layers_per_block`: transformer blocks per spatial transformer.
    public var transformerLayersPerBlock: PerBlock<Int> = .shared(1)
    /// `attention_head_dim`: in Stable Diffusion's U-Net this is the number of heads per level
    /// (diffusers keeps the historical name); each head is `channels / heads` wide.
    public var attentionHeadDimension: PerBlock<Int> = .shared(8)
    /// `num_attention_heads`: must be `null` (diffusers rejects it for this model too).
    public var numAttentionHeads: PerBlock<Int>? = nil
    /// `dual_cross_attention`: must be `false`.
    public var dualCrossAttention = false
    /// `use_linear_projection`: linear `proj_in`/`proj_out` (SD 2) instead of 1×1 convolutions.
    public var useLinearProjection = false
    /// `class_embed_type`: must be `null`.
    public var classEmbedType: String? = nil
    /// `addition_embed_type`: must be `null`.
    public var additionEmbedType: String? = nil
    /// `num_class_embeds`: must be `null`.
    public var numClassEmbeds: Int? = nil
    /// `upcast_attention`: accepted (Grain computes attention in float32 anyway).
    public var upcastAttention = false
    /// `resnet_time_scale_shift`: must be `default`.
    public var resnetTimeScaleShift = "default"
    /// `resnet_skip_time_act`: must be `false`.
    public var resnetSkipTimeActivation = false
    /// `resnet_out_scale_factor`: the down/up residual blocks' output divisor.
    public var resnetOutScaleFactor: Float = 1
    /// `time_embedding_type`: must be `positional`.
    public var timeEmbeddingType = "positional"
    /// `time_embedding_dim`: the time embedding width (`4 × block_out_channels[0]` when `nil`).
    public var timeEmbeddingDimension: Int? = nil
    /// `time_embedding_act_fn`: must be `null`.
    public var timeEmbeddingActivation: String? = nil
    /// `timestep_post_act`: must be `null`.
    public var timestepPostActivation: String? = nil
    /// `time_cond_proj_dim`: must be `null`.
    public var timeConditionProjectionDimension: Int? = nil
    /// `conv_in_kernel`: the input convolution's (odd) kernel size.
    public var convInKernel = 3
    /// `conv_out_kernel`: the output convolution's (odd) kernel size.
    public var convOutKernel = 3
    /// `encoder_hid_dim`: must be `null`.
    public var encoderHiddenDimension: Int? = nil
    /// `attention_type`: must be `default`.
    public var attentionType = "default"
    /// `mid_block_only_cross_attention`: must be `null` or `false`.
    public var midBlockOnlyCrossAttention: Bool? = nil
    /// `cross_attention_norm`: must be `null`.
    public var crossAttentionNorm: String? = nil

    /// Stable Diffusion v1.4's configuration.
    public init() {}

    /// diffusers' JSON names.
    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", inChannels = "in_channels", outChannels = "out_channels"
        case centerInputSample = "center_input_sample", flipSinToCos = "flip_sin_to_cos", frequencyShift = "freq_shift"
        case downBlockTypes = "down_block_types", midBlockType = "mid_block_type", upBlockTypes = "up_block_types"
        case onlyCrossAttention = "only_cross_attention", blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block", downsamplePadding = "downsample_padding"
        case midBlockScaleFactor = "mid_block_scale_factor", activationFunction = "act_fn"
        case normNumGroups = "norm_num_groups", normEpsilon = "norm_eps", crossAttentionDimension = "cross_attention_dim"
        case transformerLayersPerBlock = "transformer_layers_per_block", attentionHeadDimension = "attention_head_dim"
        case numAttentionHeads = "num_attention_heads", dualCrossAttention = "dual_cross_attention"
        case useLinearProjection = "use_linear_projection", classEmbedType = "class_embed_type"
        case additionEmbedType = "addition_embed_type", numClassEmbeds = "num_class_embeds"
        case upcastAttention = "upcast_attention", resnetTimeScaleShift = "resnet_time_scale_shift"
        case resnetSkipTimeActivation = "resnet_skip_time_act", resnetOutScaleFactor = "resnet_out_scale_factor"
        case timeEmbeddingType = "time_embedding_type", timeEmbeddingDimension = "time_embedding_dim"
        case timeEmbeddingActivation = "time_embedding_act_fn", timestepPostActivation = "timestep_post_act"
        case timeConditionProjectionDimension = "time_cond_proj_dim", convInKernel = "conv_in_kernel"
        case convOutKernel = "conv_out_kernel", encoderHiddenDimension = "encoder_hid_dim"
        case attentionType = "attention_type", midBlockOnlyCrossAttention = "mid_block_only_cross_attention"
        case crossAttentionNorm = "cross_attention_norm"
    }

    /// Decodes diffusers' JSON; absent keys (and `null` for non-optional ones) keep SD v1.4's value.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let decoded = try c.decodeIfPresent(T.self, forKey: key) { value = decoded }
        }
        func readOptional<T: Decodable>(_ key: CodingKeys, _ value: inout T?) throws {
            if c.contains(key) { value = try c.decodeIfPresent(T.self, forKey: key) }
        }
        try readOptional(.sampleSize, &sampleSize)
        try read(.inChannels, &inChannels); try read(.outChannels, &outChannels)
        try read(.centerInputSample, &centerInputSample); try read(.flipSinToCos, &flipSinToCos)
        try read(.frequencyShift, &frequencyShift); try read(.downBlockTypes, &downBlockTypes)
        try readOptional(.midBlockType, &midBlockType); try read(.upBlockTypes, &upBlockTypes)
        try read(.onlyCrossAttention, &onlyCrossAttention); try read(.blockOutChannels, &blockOutChannels)
        try read(.layersPerBlock, &layersPerBlock); try read(.downsamplePadding, &downsamplePadding)
        try read(.midBlockScaleFactor, &midBlockScaleFactor); try read(.activationFunction, &activationFunction)
        try read(.normNumGroups, &normNumGroups); try read(.normEpsilon, &normEpsilon)
        try read(.crossAttentionDimension, &crossAttentionDimension)
        try read(.transformerLayersPerBlock, &transformerLayersPerBlock)
        try read(.attentionHeadDimension, &attentionHeadDimension)
        try readOptional(.numAttentionHeads, &numAttentionHeads)
        try read(.dualCrossAttention, &dualCrossAttention); try read(.useLinearProjection, &useLinearProjection)
        try readOptional(.classEmbedType, &classEmbedType); try readOptional(.additionEmbedType, &additionEmbedType)
        try readOptional(.numClassEmbeds, &numClassEmbeds); try read(.upcastAttention, &upcastAttention)
        try read(.resnetTimeScaleShift, &resnetTimeScaleShift); try read(.resnetSkipTimeActivation, &resnetSkipTimeActivation)
        try read(.resnetOutScaleFactor, &resnetOutScaleFactor); try read(.timeEmbeddingType, &timeEmbeddingType)
        try readOptional(.timeEmbeddingDimension, &timeEmbeddingDimension)
        try readOptional(.timeEmbeddingActivation, &timeEmbeddingActivation)
        try readOptional(.timestepPostActivation, &timestepPostActivation)
        try readOptional(.timeConditionProjectionDimension, &timeConditionProjectionDimension)
        try read(.convInKernel, &convInKernel); try read(.convOutKernel, &convOutKernel)
        try readOptional(.encoderHiddenDimension, &encoderHiddenDimension); try read(.attentionType, &attentionType)
        try readOptional(.midBlockOnlyCrossAttention, &midBlockOnlyCrossAttention)
        try readOptional(.crossAttentionNorm, &crossAttentionNorm)
    }

    /// The number of levels.
    public var levelCount: Int { blockOutChannels.count }
    /// The width of the time embedding.
    public var resolvedTimeEmbeddingDimension: Int { timeEmbeddingDimension ?? 4 * (blockOutChannels.first ?? 0) }

    /// Checks that Grain implements this configuration.
    ///
    /// - Parameter source: the file (or description) named in errors.
    /// - Throws: ``StableDiffusionError/unsupportedConfiguration(path:key:value:)`` naming the
    ///   first JSON key whose value Grain does not implement.
    public func validate(source: String = "UNet2DConditionConfiguration") throws {
        func reject(_ key: CodingKeys, _ value: Any, _ why: String = "") throws -> Never {
            throw StableDiffusionError.unsupportedConfiguration(
                path: source, key: key.rawValue, value: "\(value)" + (why.isEmpty ? "" : " (\(why))"))
        }
        let levels = levelCount
        if levels == 0 { try reject(.blockOutChannels, blockOutChannels, "at least one level") }
        if blockOutChannels.contains(where: { $0 <= 0 }) { try reject(.blockOutChannels, blockOutChannels, "positive channels") }
        if inChannels <= 0 { try reject(.inChannels, inChannels) }
        if outChannels <= 0 { try reject(.outChannels, outChannels) }
        if downBlockTypes.count != levels { try reject(.downBlockTypes, downBlockTypes, "one per block_out_channels entry") }
        if upBlockTypes.count != levels { try reject(.upBlockTypes, upBlockTypes, "one per block_out_channels entry") }
        for type in downBlockTypes where !["CrossAttnDownBlock2D", "DownBlock2D"].contains(type) {
            try reject(.downBlockTypes, type, "Grain implements CrossAttnDownBlock2D and DownBlock2D")
        }
        for type in upBlockTypes where !["CrossAttnUpBlock2D", "UpBlock2D"].contains(type) {
            try reject(.upBlockTypes, type, "Grain implements CrossAttnUpBlock2D and UpBlock2D")
        }
        if let midBlockType, midBlockType != "UNetMidBlock2DCrossAttn" {
            try reject(.midBlockType, midBlockType, "Grain implements UNetMidBlock2DCrossAttn")
        }
        if onlyCrossAttention.values(count: levels)?.allSatisfy({ !$0 }) != true { try reject(.onlyCrossAttention, onlyCrossAttention) }
        if layersPerBlock <= 0 { try reject(.layersPerBlock, layersPerBlock) }
        if activationFunction != "silu" { try reject(.activationFunction, activationFunction, "Grain implements silu") }
        if normNumGroups <= 0 || blockOutChannels.contains(where: { $0 % normNumGroups != 0 }) {
            try reject(.normNumGroups, normNumGroups, "must divide every block_out_channels entry")
        }
        if crossAttentionDimension <= 0 { try reject(.crossAttentionDimension, crossAttentionDimension) }
        guard let depths = transformerLayersPerBlock.values(count: levels), depths.allSatisfy({ $0 > 0 }) else {
            try reject(.transformerLayersPerBlock, transformerLayersPerBlock)
        }
        _ = depths
        guard let heads = attentionHeadDimension.values(count: levels) else { try reject(.attentionHeadDimension, attentionHeadDimension) }
        for (channels, count) in zip(blockOutChannels, heads) where count <= 0 || channels % count != 0 {
            try reject(.attentionHeadDimension, attentionHeadDimension, "the head count must divide the channels")
        }
        if let numAttentionHeads { try reject(.numAttentionHeads, numAttentionHeads, "diffusers rejects it for this model; use attention_head_dim") }
        if dualCrossAttention { try reject(.dualCrossAttention, true) }
        if let classEmbedType { try reject(.classEmbedType, classEmbedType) }
        if let additionEmbedType { try reject(.additionEmbedType, additionEmbedType) }
        if let numClassEmbeds { try reject(.numClassEmbeds, numClassEmbeds) }
        if resnetTimeScaleShift != "default" { try reject(.resnetTimeScaleShift, resnetTimeScaleShift) }
        if resnetSkipTimeActivation { try reject(.resnetSkipTimeActivation, true) }
        if timeEmbeddingType != "positional" { try reject(.timeEmbeddingType, timeEmbeddingType) }
        if let timeEmbeddingDimension, timeEmbeddingDimension <= 0 { try reject(.timeEmbeddingDimension, timeEmbeddingDimension) }
        if let timeEmbeddingActivation { try reject(.timeEmbeddingActivation, timeEmbeddingActivation) }
        if let timestepPostActivation { try reject(.timestepPostActivation, timestepPostActivation) }
        if let timeConditionProjectionDimension { try reject(.timeConditionProjectionDimension, timeConditionProjectionDimension) }
        if convInKernel <= 0 || convInKernel % 2 == 0 { try reject(.convInKernel, convInKernel, "an odd size") }
        if convOutKernel <= 0 || convOutKernel % 2 == 0 { try reject(.convOutKernel, convOutKernel, "an odd size") }
        if let encoderHiddenDimension { try reject(.encoderHiddenDimension, encoderHiddenDimension) }
        if attentionType != "default" { try reject(.attentionType, attentionType) }
        if midBlockOnlyCrossAttention == true { try reject(.midBlockOnlyCrossAttention, true) }
        if let crossAttentionNorm { try reject(.crossAttentionNorm, crossAttentionNorm) }
        if blockOutChannels[0] < 2 { try reject(.blockOutChannels, blockOutChannels, "the timestep features need 2 channels") }
    }
}

/// The conditional denoising U-Net of Stable Diffusion, as diffusers' `UNet2DConditionModel`
/// (the configurations of SD v1.x and, with `use_linear_projection`, v2.x).
///
/// `ε̂ = unet(latent, t, text context)`: sinusoidal timestep features through a two-layer MLP
/// condition every residual block; spatial transformers cross-attend to the text context;
/// down blocks hand skip connections to the up blocks.
///
/// Shapes: sample `[N, inChannels, H, W]` (any H, W: when they are not multiples of
/// `2^(levels−1)` the upsamplers resize to the skips' sizes, as diffusers does), context
/// `[N, S, crossAttentionDimension]`, output `[N, outChannels, H, W]`.
///
/// Checkpoint keys are diffusers' (`conv_in`, `time_embedding.linear_1`,
/// `down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight`, …, `conv_out`); SD v1.4
/// has 686 tensors and 859,520,964 parameters. Everything is built from differentiable `Tensor`
/// ops.
///
/// This implementation matches diffusers' (0.42) forward pass in float32. **Limitations:** no
/// class or additional embeddings, no timestep-conditioned projections, no ControlNet residuals,
/// no attention masks on the context, block types limited to those of Stable Diffusion.
public final class UNet2DConditionModel: Module, @unchecked Sendable {
    /// The configuration the model was built from.
    public let configuration: UNet2DConditionConfiguration
    /// `conv_in`.
    public let convIn: Conv2d
    /// `time_embedding`.
    public let timeEmbedding: TimestepEmbedding
    /// `down_blocks`.
    public let downBlocks: [any UNetDownBlock]
    /// `mid_block`, if configured.
    public let midBlock: UNetMidBlock2DCrossAttn?
    /// `up_blocks`.
    public let upBlocks: [any UNetUpBlock]
    /// `conv_norm_out`.
    public let convNormOut: GroupNorm
    /// `conv_out`.
    public let convOut: Conv2d

    /// Creates the U-Net with zero weights (allocated only when read), to be loaded from a checkpoint.
    ///
    /// - Throws: ``StableDiffusionError/unsupportedConfiguration(path:key:value:)`` when
    ///   ``UNet2DConditionConfiguration/validate(source:)`` rejects the configuration.
    public init(configuration: UNet2DConditionConfiguration = UNet2DConditionConfiguration()) throws {
        try configuration.validate()
        let c = configuration
        let levels = c.levelCount, channels = c.blockOutChannels
        let heads = c.attentionHeadDimension.values(count: levels)!
        let depths = c.transformerLayersPerBlock.values(count: levels)!
        let timeChannels = c.resolvedTimeEmbeddingDimension
        self.configuration = c
        convIn = Conv2d(inputChannels: c.inChannels, outputChannels: channels[0], kernelSize: c.convInKernel,
                        padding: (c.convInKernel - 1) / 2)
        timeEmbedding = TimestepEmbedding(inputChannels: channels[0], timeEmbeddingDimension: timeChannels)

        var down: [any UNetDownBlock] = []
        var output = channels[0]
        for (i, type) in c.downBlockTypes.enumerated() {
            let input = output
            output = channels[i]
            let isFinal = i == levels - 1
            if type == "CrossAttnDownBlock2D" {
                down.append(CrossAttnDownBlock2D(
                    inputChannels: input, outputChannels: output, timeEmbeddingChannels: timeChannels,
                    layers: c.layersPerBlock, heads: heads[i], contextDimension: c.crossAttentionDimension,
                    groups: c.normNumGroups, epsilon: c.normEpsilon, addDownsample: !isFinal,
                    downsamplePadding: c.downsamplePadding, transformerDepth: depths[i],
                    useLinearProjection: c.useLinearProjection))
            } else {
                down.append(DownBlock2D(
                    inputChannels: input, outputChannels: output, timeEmbeddingChannels: timeChannels,
                    layers: c.layersPerBlock, groups: c.normNumGroups, epsilon: c.normEpsilon,
                    addDownsample: !isFinal, downsamplePadding: c.downsamplePadding))
            }
        }
        downBlocks = down
        midBlock = c.midBlockType == nil ? nil : UNetMidBlock2DCrossAttn(
            channels: channels[levels - 1], timeEmbeddingChannels: timeChannels, heads: heads[levels - 1],
            contextDimension: c.crossAttentionDimension, groups: c.normNumGroups, epsilon: c.normEpsilon,
            outputScaleFactor: c.midBlockScaleFactor, transformerDepth: depths[levels - 1],
            useLinearProjection: c.useLinearProjection)

        var up: [any UNetUpBlock] = []
        let reversedChannels = Array(channels.reversed()), reversedHeads = Array(heads.reversed())
        let reversedDepths = Array(depths.reversed())
        output = reversedChannels[0]
        for (i, type) in c.upBlockTypes.enumerated() {
            let previous = output
            output = reversedChannels[i]
            let input = reversedChannels[min(i + 1, levels - 1)]
            let isFinal = i == levels - 1
            if type == "CrossAttnUpBlock2D" {
                up.append(CrossAttnUpBlock2D(
                    inputChannels: input, previousOutputChannels: previous, outputChannels: output,
                    timeEmbeddingChannels: timeChannels, layers: c.layersPerBlock + 1, heads: reversedHeads[i],
                    contextDimension: c.crossAttentionDimension, groups: c.normNumGroups, epsilon: c.normEpsilon,
                    addUpsample: !isFinal, transformerDepth: reversedDepths[i], useLinearProjection: c.useLinearProjection))
            } else {
                up.append(UpBlock2D(
                    inputChannels: input, previousOutputChannels: previous, outputChannels: output,
                    timeEmbeddingChannels: timeChannels, layers: c.layersPerBlock + 1, groups: c.normNumGroups,
                    epsilon: c.normEpsilon, addUpsample: !isFinal))
            }
        }
        upBlocks = up
        convNormOut = GroupNorm(groups: c.normNumGroups, channels: channels[0], epsilon: c.normEpsilon)
        convOut = Conv2d(inputChannels: channels[0], outputChannels: c.outChannels, kernelSize: c.convOutKernel,
                         padding: (c.convOutKernel - 1) / 2)
        super.init()
    }

    /// The parts under diffusers' names.
    public override var children: [(String, Module)] {
        var result: [(String, Module)] = [
            ("conv_in", convIn), ("time_embedding", timeEmbedding),
            ("down_blocks", IndexedModules(downBlocks.map { $0 as Module })),
            ("up_blocks", IndexedModules(upBlocks.map { $0 as Module })),
        ]
        if let midBlock { result.append(("mid_block", midBlock)) }
        result += [("conv_norm_out", convNormOut), ("conv_out", convOut)]
        return result
    }

    /// Predicts the noise (or whatever the checkpoint was trained to predict) in `sample`.
    ///
    /// - Parameters:
    ///   - sample: the noisy latent `[N, inChannels, H, W]`.
    ///   - timesteps: one timestep per batch element, or one for all.
    ///   - encoderHiddenStates: the text context `[N, S, crossAttentionDimension]` (the CLIP text
    ///     encoder's last hidden state).
    ///   - observer: called after each stage (`time_embedding`, `conv_in`, `down_blocks.{i}`,
    ///     `mid_block`, `up_blocks.{i}`, `conv_out`) with its output, for inspection and timing.
    /// - Returns: `[N, outChannels, H, W]`.
    /// - Throws: ``StableDiffusionError/invalidInput(model:reason:)`` naming the shape at fault.
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor,
                               observer: ((String, Tensor) -> Void)? = nil) throws -> Tensor {
        let c = configuration
        func invalid(_ reason: String) -> StableDiffusionError { .invalidInput(model: "UNet2DConditionModel", reason: reason) }
        guard sample.rank == 4, sample.shape[1] == c.inChannels, sample.shape[0] > 0, sample.shape[2] > 0, sample.shape[3] > 0 else {
            throw invalid("sample \(sample.shape) must be [N, \(c.inChannels), H, W] (in_channels \(c.inChannels))")
        }
        let batch = sample.shape[0]
        guard encoderHiddenStates.rank == 3, encoderHiddenStates.shape[0] == batch,
              encoderHiddenStates.shape[1] > 0, encoderHiddenStates.shape[2] == c.crossAttentionDimension else {
            throw invalid("encoder hidden states \(encoderHiddenStates.shape) must be [\(batch), S, \(c.crossAttentionDimension)] for sample \(sample.shape)")
        }
        guard timesteps.count == batch || timesteps.count == 1 else {
            throw invalid("\(timesteps.count) timesteps for a batch of \(batch)")
        }
        guard timesteps.allSatisfy(\.isFinite) else { throw invalid("timesteps \(timesteps) must be finite") }
        let steps = timesteps.count == batch ? timesteps : Array(repeating: timesteps[0], count: batch)
        return forward(sample, timesteps: steps, context: encoderHiddenStates, observer: observer)
    }

    /// The forward pass on checked inputs.
    func forward(_ sample: Tensor, timesteps: [Float], context: Tensor, observer: ((String, Tensor) -> Void)?) -> Tensor {
        let c = configuration
        let features = TimestepEmbedding.sinusoidal(timesteps, dimension: c.blockOutChannels[0], flipSinToCos: c.flipSinToCos,
                                                    downscaleFrequencyShift: c.frequencyShift)
        let embedding = timeEmbedding(features)
        observer?("time_embedding", embedding)
        var h = convIn(c.centerInputSample ? 2 * sample - 1 : sample)
        observer?("conv_in", h)
        var skips = [h]
        for (i, block) in downBlocks.enumerated() {
            let (output, blockSkips) = block(h, timeEmbedding: embedding, context: context)
            h = output
            skips += blockSkips
            observer?("down_blocks.\(i)", h)
        }
        if let midBlock {
            h = midBlock(h, timeEmbedding: embedding, context: context)
            observer?("mid_block", h)
        }
        for (i, block) in upBlocks.enumerated() {
            let consumed = c.layersPerBlock + 1
            var size: (Int, Int)? = nil
            if i < upBlocks.count - 1 {
                let next = skips[skips.count - consumed - 1]
                size = (next.shape[2], next.shape[3])
            }
            h = block(h, skips: &skips, timeEmbedding: embedding, context: context, upsampleSize: size)
            observer?("up_blocks.\(i)", h)
        }
        h = convOut(convNormOut.normalizedSiLU(h))
        observer?("conv_out", h)
        return h
    }
}
