import Foundation

/// A configuration read from a diffusers or transformers `config.json` and checked before use.
public protocol DiffusersConfigurationFile: Decodable {
    /// Throws ``StableDiffusionError/invalidConfiguration(path:reason:)`` naming `source` when the
    /// values cannot build a model.
    func validate(source: String) throws
}

extension DiffusersConfigurationFile {
    /// Reads and validates the `config.json` at `url`, for example a model component's
    /// architecture written by hand or copied from a diffusers folder.
    ///
    /// - Throws: ``StableDiffusionError/missingFile(path:)`` or
    ///   ``StableDiffusionError/invalidConfiguration(path:reason:)``, naming the file.
    public init(contentsOf url: URL) throws {
        self = try ConfigurationFile.read(Self.self, at: url)
        try validate(source: url.path)
    }
}

extension AutoencoderKLConfiguration: DiffusersConfigurationFile {}
extension UNet2DConditionConfiguration: DiffusersConfigurationFile {}
extension CLIPTextConfiguration: DiffusersConfigurationFile {}
