import Foundation
import Tensor

/// A Stable Diffusion model folder in diffusers' layout, read strictly:
///
///     <folder>/unet/config.json           + diffusion_pytorch_model[.<variant>].safetensors
///     <folder>/vae/config.json            + diffusion_pytorch_model[.<variant>].safetensors
///     <folder>/text_encoder/config.json   + model[.<variant>].safetensors
///
/// (a `.bin` PyTorch file is read when no `.safetensors` file exists). The `fp16` variant
/// (`diffusion_pytorch_model.fp16.safetensors`) is converted to float32 tensor by tensor from the
/// memory-mapped file, so loading holds the float32 model plus at most one tensor in flight.
///
/// Loading is strict: every parameter must be in the file with its shape, every tensor in the
/// file must be used (except the text encoder's `position_ids` buffer), and every weight must be
/// finite. Parameters come back frozen (not trainable) unless asked otherwise: Stable Diffusion
/// is used as a fixed tool here, and frozen parameters keep inference off the autodiff tape.
///
/// ```swift
/// let folder = try DiffusersFolder(URL(fileURLWithPath: "stable-diffusion-v1-4"))
/// let unet = try folder.unet(variant: "fp16")
/// let vae = try folder.vae()
/// let textEncoder = try folder.textEncoder()
/// ```
public struct DiffusersFolder: Sendable {
    /// The folder.
    public let url: URL

    /// Opens a diffusers folder.
    ///
    /// - Throws: ``StableDiffusionError/missingFolder(path:)`` when `url` is not a directory.
    public init(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StableDiffusionError.missingFolder(path: url.path)
        }
        self.url = url
    }

    /// The parts of a diffusers folder.
    public enum Part: String, Sendable, CaseIterable {
        /// `unet/`.
        case unet
        /// `vae/`.
        case vae
        /// `text_encoder/`.
        case textEncoder = "text_encoder"

        /// The weight file's stem: `diffusion_pytorch_model` or `model` (transformers).
        var weightStem: String { self == .textEncoder ? "model" : "diffusion_pytorch_model" }
    }

    /// The folder of `part`.
    ///
    /// - Throws: ``StableDiffusionError/missingFolder(path:)`` when it does not exist.
    public func folder(of part: Part) throws -> URL {
        let folder = url.appendingPathComponent(part.rawValue, isDirectory: true)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StableDiffusionError.missingFolder(path: folder.path)
        }
        return folder
    }

    /// The `config.json` of `part`.
    public func configurationURL(of part: Part) throws -> URL {
        try folder(of: part).appendingPathComponent("config.json")
    }

    /// The weight file of `part` for `variant` (`nil` for the float32 file, `"fp16"` for
    /// `*.fp16.safetensors`): the `.safetensors` file, or the `.bin` one when only that exists.
    ///
    /// - Throws: ``StableDiffusionError/missingFile(path:)`` naming the `.safetensors` file looked for.
    public func weightsURL(of part: Part, variant: String? = nil) throws -> URL {
        let folder = try folder(of: part)
        let stem = part.weightStem + (variant.map { ".\($0)" } ?? "")
        let safetensors = folder.appendingPathComponent(stem + ".safetensors")
        if FileManager.default.fileExists(atPath: safetensors.path) { return safetensors }
        let pickle = folder.appendingPathComponent(stem + ".bin")
        if FileManager.default.fileExists(atPath: pickle.path) { return pickle }
        throw StableDiffusionError.missingFile(path: safetensors.path)
    }

    /// Reads and validates `unet/config.json`.
    public func unetConfiguration() throws -> UNet2DConditionConfiguration {
        try UNet2DConditionConfiguration(contentsOf: configurationURL(of: .unet))
    }

    /// Reads and validates `vae/config.json`.
    public func vaeConfiguration() throws -> AutoencoderKLConfiguration {
        try AutoencoderKLConfiguration(contentsOf: configurationURL(of: .vae))
    }

    /// Reads and validates `text_encoder/config.json`.
    public func textEncoderConfiguration() throws -> CLIPTextConfiguration {
        try CLIPTextConfiguration(contentsOf: configurationURL(of: .textEncoder))
    }

    /// Loads the U-Net.
    ///
    /// - Parameters:
    ///   - variant: `nil` for `diffusion_pytorch_model.safetensors`, `"fp16"` for the half-precision file.
    ///   - trainable: whether the parameters are trainable (`false`: frozen).
    /// - Throws: ``StableDiffusionError``, ``ModuleLoadingError`` or `WeightFileError`, naming
    ///   the file and the key at fault.
    public func unet(variant: String? = nil, trainable: Bool = false) throws -> UNet2DConditionModel {
        let model = try UNet2DConditionModel(configuration: unetConfiguration())
        try DiffusersFolder.load(model, from: weightsURL(of: .unet, variant: variant), trainable: trainable)
        return model
    }

    /// Loads the VAE (renaming the attention keys of older diffusers checkpoints, `query`/`key`/
    /// `value`/`proj_attn`, to `to_q`/`to_k`/`to_v`/`to_out.0`).
    ///
    /// - Parameters: as ``unet(variant:trainable:)``.
    public func vae(variant: String? = nil, trainable: Bool = false) throws -> AutoencoderKL {
        let model = try AutoencoderKL(configuration: vaeConfiguration())
        try DiffusersFolder.load(model, from: weightsURL(of: .vae, variant: variant), trainable: trainable,
                                 renaming: DiffusersFolder.legacyAttentionName)
        return model
    }

    /// Loads the CLIP text encoder from `model.safetensors` with SD v1.4's `text_model.` keys or
    /// transformers ≥ 5's unprefixed ones; the `position_ids` buffer, if present, is ignored.
    ///
    /// - Parameters: as ``unet(variant:trainable:)``.
    public func textEncoder(variant: String? = nil, trainable: Bool = false) throws -> CLIPTextModel {
        let model = try CLIPTextModel(configuration: textEncoderConfiguration())
        let file = try weightsURL(of: .textEncoder, variant: variant)
        // Opened accepting non-finite values: `load` checks them itself, to name the value too.
        let weights = try openWeightFile(at: file, acceptingNonFiniteValues: true)
        let prefixed = weights.keys.contains { $0.hasPrefix("text_model.") }
        try DiffusersFolder.load(model, from: weights, trainable: trainable,
                                 renaming: { prefixed ? $0 : "text_model." + $0 },
                                 ignoring: ["text_model.embeddings.position_ids"])
        return model
    }

    /// diffusers' renaming of the VAE attention keys written before diffusers 0.14
    /// (`….attentions.0.query.weight` → `….attentions.0.to_q.weight`, `proj_attn` → `to_out.0`).
    static func legacyAttentionName(_ key: String) -> String {
        guard key.contains(".attentions.") else { return key }
        let renames = [(".query.", ".to_q."), (".key.", ".to_k."), (".value.", ".to_v."), (".proj_attn.", ".to_out.0.")]
        for (old, new) in renames where key.contains(old) {
            return key.replacingOccurrences(of: old, with: new)
        }
        return key
    }

    /// Loads `module` strictly from the weight file at `url`.
    ///
    /// - Parameters:
    ///   - module: the module to fill.
    ///   - url: a `.safetensors` or `.pth` file.
    ///   - trainable: whether the loaded parameters require gradients.
    ///   - renaming: maps a file key to the module's key.
    ///   - ignoring: module-side keys of file tensors to skip.
    public static func load(_ module: Module, from url: URL, trainable: Bool = false,
                            renaming: (String) -> String = { $0 }, ignoring: Set<String> = []) throws {
        try load(module, from: try openWeightFile(at: url, acceptingNonFiniteValues: true), trainable: trainable,
                 renaming: renaming, ignoring: ignoring)
    }

    /// Loads `module` strictly from an open weight file: keys and shapes are all checked before
    /// any tensor is read; then each tensor is converted to float32, checked finite and assigned,
    /// one at a time, in file order.
    ///
    /// - Throws: ``ModuleLoadingError/inFile(_:_:)`` for a missing, unexpected or mis-shaped key
    ///   (before anything is assigned); ``StableDiffusionError/nonFiniteWeight(path:key:index:value:)``
    ///   for a NaN or infinite weight; the file's `WeightFileError` when a tensor cannot be read.
    public static func load(_ module: Module, from file: any WeightFile, trainable: Bool = false,
                            renaming: (String) -> String = { $0 }, ignoring: Set<String> = []) throws {
        let parameters = Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.key, $0.parameter) })
        var assignments: [(fileKey: String, key: String, parameter: Parameter)] = []
        var seen = Set<String>()
        do {
            for fileKey in file.keys {
                let key = renaming(fileKey)
                if ignoring.contains(key) { continue }
                guard let parameter = parameters[key] else { throw ModuleLoadingError.unexpectedKey(fileKey) }
                guard seen.insert(key).inserted else { throw ModuleLoadingError.unexpectedKey(fileKey) }
                let shape = try file.shape(named: fileKey)
                guard shape == parameter.shape else {
                    throw ModuleLoadingError.shapeMismatch(key: fileKey, expected: parameter.shape, actual: shape)
                }
                assignments.append((fileKey, key, parameter))
            }
            if let missing = module.namedParameters().first(where: { !seen.contains($0.key) }) {
                throw ModuleLoadingError.missingKey(missing.key)
            }
        } catch let error as ModuleLoadingError {
            throw ModuleLoadingError.inFile(file.path, error)
        }
        for (fileKey, _, parameter) in assignments {
            let value = try file.tensor(named: fileKey)
            if let bad = firstNonFinite(value) {
                throw StableDiffusionError.nonFiniteWeight(path: file.path, key: fileKey, index: bad.index, value: bad.value)
            }
            parameter.assign(value)
        }
        module.setTrainable(trainable)
    }

    /// The first NaN or infinity in `tensor`, if any (the weight readers' vectorised scan,
    /// ``Finiteness``, then a search for the first one).
    static func firstNonFinite(_ tensor: Tensor) -> (index: Int, value: Float)? {
        tensor.withUnsafeBufferPointer { buffer -> (index: Int, value: Float)? in
            guard Finiteness.nonFiniteCount(buffer) > 0, let index = buffer.firstIndex(where: { !$0.isFinite }) else { return nil }
            return (index, buffer[index])
        }
    }
}
