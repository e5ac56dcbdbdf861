import Foundation
import Tensor

/// The configuration of a ``CLIPTextModel``, read from transformers' `text_encoder/config.json`.
///
/// Coding keys are transformers' JSON names; a key absent from the JSON takes the value of
/// Stable Diffusion v1.4's text encoder (CLIP ViT-L/14's text tower, as published with
/// `bos_token_id` 0 and `eos_token_id` 2), so `CLIPTextConfiguration()` is SD v1.4's. Keys Grain
/// does not read (`architectures`, `projection_dim`, `initializer_range`, …) are ignored.
public struct CLIPTextConfiguration: Codable, Equatable, Sendable {
    /// `vocab_size`.
    public var vocabularySize = 49408
    /// `hidden_size`: the token width.
    public var hiddenSize = 768
    /// `intermediate_size`: the MLP width.
    public var intermediateSize = 3072
    /// `num_hidden_layers`.
    public var hiddenLayerCount = 12
    /// `num_attention_heads`.
    public var attentionHeadCount = 12
    /// `max_position_embeddings`: the longest token sequence.
    public var maximumPositionEmbeddings = 77
    /// `hidden_act`: `quick_gelu` (SD v1) or `gelu`.
    public var hiddenActivation = "quick_gelu"
    /// `layer_norm_eps`.
    public var layerNormEpsilon: Float = 1e-5
    /// `bos_token_id` (as published in SD v1.4's config: 0; the tokenizer's start token is 49406).
    public var beginningOfSequenceTokenID = 0
    /// `eos_token_id`. The legacy value 2 (SD v1.4's) makes the pooled output use the position
    /// of the largest token id, as transformers does; other values, the first occurrence of that id.
    public var endOfSequenceTokenID = 2
    /// `pad_token_id`.
    public var padTokenID: Int? = 1

    /// Stable Diffusion v1.4's text-encoder configuration.
    public init() {}

    /// transformers' JSON names.
    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case hiddenLayerCount = "num_hidden_layers", attentionHeadCount = "num_attention_heads"
        case maximumPositionEmbeddings = "max_position_embeddings", hiddenActivation = "hidden_act"
        case layerNormEpsilon = "layer_norm_eps", beginningOfSequenceTokenID = "bos_token_id"
        case endOfSequenceTokenID = "eos_token_id", padTokenID = "pad_token_id"
    }

    /// Decodes transformers' JSON; absent keys keep SD v1.4's value.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let decoded = try c.decodeIfPresent(T.self, forKey: key) { value = decoded }
        }
        try read(.vocabularySize, &vocabularySize); try read(.hiddenSize, &hiddenSize)
        try read(.intermediateSize, &intermediateSize); try read(.hiddenLayerCount, &hiddenLayerCount)
        try read(.attentionHeadCount, &attentionHeadCount); try read(.maximumPositionEmbeddings, &maximumPositionEmbeddings)
        try read(.hiddenActivation, &hiddenActivation); try read(.layerNormEpsilon, &layerNormEpsilon)
        try read(.beginningOfSequenceTokenID, &beginningOfSequenceTokenID); try read(.endOfSequenceTokenID, &endOfSequenceTokenID)
        if c.contains(.padTokenID) { padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID) }
    }

    /// Checks that Grain implements this configuration.
    ///
    /// - Throws: ``StableDiffusionError/unsupportedConfiguration(path:key:value:)`` naming the key.
    public func validate(source: String = "CLIPTextConfiguration") throws {
        func reject(_ key: CodingKeys, _ value: Any, _ why: String = "") throws -> Never {
            throw StableDiffusionError.unsupportedConfiguration(
                path: source, key: key.rawValue, value: "\(value)" + (why.isEmpty ? "" : " (\(why))"))
        }
        if vocabularySize <= 0 { try reject(.vocabularySize, vocabularySize) }
        if hiddenSize <= 0 { try reject(.hiddenSize, hiddenSize) }
        if intermediateSize <= 0 { try reject(.intermediateSize, intermediateSize) }
        if hiddenLayerCount < 0 { try reject(.hiddenLayerCount, hiddenLayerCount) }
        if attentionHeadCount <= 0 || hiddenSize % attentionHeadCount != 0 {
            try reject(.attentionHeadCount, attentionHeadCount, "must divide hidden_size \(hiddenSize)")
        }
        if maximumPositionEmbeddings <= 0 { try reject(.maximumPositionEmbeddings, maximumPositionEmbeddings) }
        if !["quick_gelu", "gelu"].contains(hiddenActivation) {
            try reject(.hiddenActivation, hiddenActivation, "Grain implements quick_gelu and gelu")
        }
    }
}

/// The text encoder of Stable Diffusion, as transformers' `CLIPTextModel`: token and position
/// embeddings, pre-norm transformer layers with causal self-attention and a quick-GELU MLP, a
/// final layer norm. Its last hidden state is the U-Net's cross-attention context.
///
/// Shapes: token ids `[B, L]` (`L ≤ maximumPositionEmbeddings`, 77 for SD) → last hidden state
/// `[B, L, hiddenSize]`, pooled output `[B, hiddenSize]`.
///
/// Checkpoint keys are those of SD v1.4's `text_encoder/model.safetensors` (transformers < 5):
/// `text_model.embeddings.token_embedding.weight`, `text_model.encoder.layers.{i}.self_attn.q_proj.weight`,
/// …, `text_model.final_layer_norm.bias` (196 tensors, 123,060,480 parameters for SD v1.4).
/// ``DiffusersFolder`` also reads files written by transformers ≥ 5, which drop the
/// `text_model.` prefix, and ignores the `position_ids` buffer older files carry.
///
/// This implementation matches transformers' (5.x) forward pass in float32 without an attention
/// mask (Stable Diffusion passes none). Differentiable.
public final class CLIPTextModel: Module, @unchecked Sendable {
    /// The start-of-text token of Stable Diffusion's CLIP tokenizer.
    public static let startOfTextToken = 49406
    /// The end-of-text token of Stable Diffusion's CLIP tokenizer (also its padding token).
    public static let endOfTextToken = 49407

    /// The configuration the model was built from.
    public let configuration: CLIPTextConfiguration
    /// `text_model`.
    public let textModel: CLIPTextTransformer

    /// Creates the encoder with zero weights (allocated only when read), to be loaded from a checkpoint.
    ///
    /// - Throws: ``StableDiffusionError/unsupportedConfiguration(path:key:value:)`` when
    ///   ``CLIPTextConfiguration/validate(source:)`` rejects the configuration.
    public init(configuration: CLIPTextConfiguration = CLIPTextConfiguration()) throws {
        try configuration.validate()
        self.configuration = configuration
        textModel = CLIPTextTransformer(configuration: configuration)
        super.init()
    }

    /// `text_model`.
    public override var children: [(String, Module)] { [("text_model", textModel)] }

    /// The tokens of the empty prompt as Stable Diffusion's tokenizer pads it: the start token
    /// then `length − 1` end tokens (`[49406, 49407 × 76]`).
    public static func emptyPromptTokens(length: Int = 77, startToken: Int = startOfTextToken,
                                         endToken: Int = endOfTextToken) -> [Int] {
        precondition(length >= 2, "CLIPTextModel.emptyPromptTokens: length \(length) must be at least 2")
        return [startToken] + Array(repeating: endToken, count: length - 1)
    }

    /// Encodes token ids, one row per prompt (all rows the same length).
    ///
    /// - Returns: the last hidden state `[B, L, hiddenSize]` and the pooled output `[B, hiddenSize]`
    ///   (the last hidden state at each row's end-of-sequence position, as transformers picks it).
    /// - Throws: ``StableDiffusionError/invalidInput(model:reason:)`` for an empty batch, ragged
    ///   rows, a row longer than `max_position_embeddings` or an id outside the vocabulary.
    public func callAsFunction(_ tokens: [[Int]]) throws -> (lastHiddenState: Tensor, pooledOutput: Tensor) {
        let c = configuration
        func invalid(_ reason: String) -> StableDiffusionError { .invalidInput(model: "CLIPTextModel", reason: reason) }
        guard let length = tokens.first?.count, length > 0 else { throw invalid("no tokens: the input must be [B, L] with B, L ≥ 1") }
        guard tokens.allSatisfy({ $0.count == length }) else {
            throw invalid("rows of different lengths \(tokens.map(\.count)): the input must be [B, L]")
        }
        guard length <= c.maximumPositionEmbeddings else {
            throw invalid("\(length) tokens per row, more than max_position_embeddings \(c.maximumPositionEmbeddings)")
        }
        for (row, ids) in tokens.enumerated() {
            if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= c.vocabularySize }) {
                throw invalid("token id \(ids[bad]) at [\(row), \(bad)] is outside the vocabulary 0..<\(c.vocabularySize)")
            }
        }
        let hidden = textModel(tokens)
        let positions = tokens.map { ids -> Int in
            if c.endOfSequenceTokenID == 2 { return ids.indices.max { ids[$0] < ids[$1] || (ids[$0] == ids[$1] && $0 > $1) }! }
            return ids.firstIndex(of: c.endOfSequenceTokenID) ?? 0
        }
        let flat = hidden.reshaped([tokens.count * length, c.hiddenSize])
        let pooled = flat.indexSelected(axis: 0, indices: positions.enumerated().map { $0.offset * length + $0.element })
        return (hidden, pooled)
    }
}

/// The body of ``CLIPTextModel`` (transformers' `CLIPTextTransformer`): `embeddings`, `encoder`,
/// `final_layer_norm`.
public final class CLIPTextTransformer: Module, @unchecked Sendable {
    /// `embeddings.token_embedding` `[vocab, hidden]`.
    public let tokenEmbedding: Embedding
    /// `embeddings.position_embedding` `[positions, hidden]`.
    public let positionEmbedding: Embedding
    /// `encoder.layers`.
    public let layers: [CLIPEncoderLayer]
    /// `final_layer_norm`.
    public let finalLayerNorm: LayerNorm
    private let hiddenSize: Int

    /// Creates the body with zero weights.
    public init(configuration c: CLIPTextConfiguration) {
        tokenEmbedding = Embedding(count: c.vocabularySize, dimension: c.hiddenSize)
        positionEmbedding = Embedding(count: c.maximumPositionEmbeddings, dimension: c.hiddenSize)
        layers = (0..<c.hiddenLayerCount).map { _ in CLIPEncoderLayer(configuration: c) }
        finalLayerNorm = LayerNorm(normalizedShape: [c.hiddenSize], epsilon: c.layerNormEpsilon)
        hiddenSize = c.hiddenSize
        super.init()
    }

    /// The parts under transformers' names.
    public override var children: [(String, Module)] {
        [("embeddings", NamedModules([("token_embedding", tokenEmbedding), ("position_embedding", positionEmbedding)])),
         ("encoder", NamedModules([("layers", IndexedModules(layers))])),
         ("final_layer_norm", finalLayerNorm)]
    }

    /// The last hidden state `[B, L, hidden]` of checked token ids `[B][L]`.
    public func callAsFunction(_ tokens: [[Int]]) -> Tensor {
        let batch = tokens.count, length = tokens[0].count
        let tokenVectors = tokenEmbedding(tokens.flatMap { $0 }, shape: [batch, length])
        let positionVectors = positionEmbedding(Array(0..<length), shape: [1, length])
        var h = tokenVectors + positionVectors
        for layer in layers { h = layer(h) }
        return finalLayerNorm(h)
    }
}

/// One CLIP encoder layer (transformers' `CLIPEncoderLayer`), pre-norm:
///
///     h = h + self_attn(layer_norm1(h))        causal, all projections with bias
///     h = h + mlp(layer_norm2(h))              fc1 → quick-GELU → fc2
///
/// Shapes: `[B, L, hidden]` → `[B, L, hidden]`. Checkpoint keys: `self_attn.{q,k,v,out}_proj`,
/// `layer_norm1`, `mlp.fc1`, `mlp.fc2`, `layer_norm2`.
public final class CLIPEncoderLayer: Module, Layer, @unchecked Sendable {
    /// `self_attn.q_proj`.
    public let queryProjection: Linear
    /// `self_attn.k_proj`.
    public let keyProjection: Linear
    /// `self_attn.v_proj`.
    public let valueProjection: Linear
    /// `self_attn.out_proj`.
    public let outputProjection: Linear
    /// `layer_norm1`.
    public let layerNorm1: LayerNorm
    /// `mlp.fc1`.
    public let fc1: Linear
    /// `mlp.fc2`.
    public let fc2: Linear
    /// `layer_norm2`.
    public let layerNorm2: LayerNorm
    /// The number of heads.
    public let heads: Int
    /// The MLP activation.
    public let activation: Activation.Function

    /// Creates the layer with zero weights.
    public init(configuration c: CLIPTextConfiguration) {
        let d = c.hiddenSize
        queryProjection = Linear(inputSize: d, outputSize: d)
        keyProjection = Linear(inputSize: d, outputSize: d)
        valueProjection = Linear(inputSize: d, outputSize: d)
        outputProjection = Linear(inputSize: d, outputSize: d)
        layerNorm1 = LayerNorm(normalizedShape: [d], epsilon: c.layerNormEpsilon)
        fc1 = Linear(inputSize: d, outputSize: c.intermediateSize)
        fc2 = Linear(inputSize: c.intermediateSize, outputSize: d)
        layerNorm2 = LayerNorm(normalizedShape: [d], epsilon: c.layerNormEpsilon)
        heads = c.attentionHeadCount
        activation = c.hiddenActivation == "gelu" ? .gelu : .quickGelu
        super.init()
    }

    /// The parts under transformers' names.
    public override var children: [(String, Module)] {
        [("self_attn", NamedModules([("q_proj", queryProjection), ("k_proj", keyProjection),
                                     ("v_proj", valueProjection), ("out_proj", outputProjection)])),
         ("layer_norm1", layerNorm1),
         ("mlp", NamedModules([("fc1", fc1), ("fc2", fc2)])),
         ("layer_norm2", layerNorm2)]
    }

    /// Causal multi-head self-attention over `x` `[B, L, hidden]` (no residual).
    public func selfAttention(_ x: Tensor) -> Tensor {
        let (b, l, d) = (x.shape[0], x.shape[1], x.shape[2])
        let width = d / heads
        func split(_ t: Tensor) -> Tensor { t.reshaped([b, l, heads, width]).permuted([0, 2, 1, 3]) }
        let attended = Tensor.scaledDotProductAttention(
            query: split(queryProjection(x)), key: split(keyProjection(x)), value: split(valueProjection(x)),
            isCausal: true, scale: 1 / Float(width).squareRoot())
        return outputProjection(attended.permuted([0, 2, 1, 3]).reshaped([b, l, d]))
    }

    /// The layer on `x` `[B, L, hidden]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x + selfAttention(layerNorm1(x))
        let mlp = activation == .gelu ? fc1(layerNorm2(h)).gelu() : fc1(layerNorm2(h)).quickGelu()
        return h + fc2(mlp)
    }
}

/// A parameterless container whose children carry given names: the intermediate levels of a
/// checkpoint's key path (`embeddings`, `self_attn`, `mlp`) that hold no computation of their own.
public final class NamedModules: Module, @unchecked Sendable {
    /// The children with their key segments.
    public let items: [(String, Module)]

    /// Creates the container.
    public init(_ items: [(String, Module)]) {
        self.items = items
        super.init()
    }

    /// The children, as given.
    public override var children: [(String, Module)] { items }
}
