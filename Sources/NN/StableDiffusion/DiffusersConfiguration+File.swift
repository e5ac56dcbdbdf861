import Foundation

/// A configuration read from a diffusers or transformers `config.json` and checked before use.
public protocol DiffusersConfigurationFile: Decodable {
    /// Throws ``StableDiffusionError/unsupportedConfiguration(path:key:value:)`` naming `source`
    /// and the first key whose value Grain cannot build.
    func validate(source: String) throws
}

extension DiffusersConfigurationFile {
    /// Reads and validates the `config.json` at `url`, for example a model component's
    /// architecture written by hand or copied from a diffusers folder.
    ///
    /// - Throws: ``StableDiffusionError/missingFile(path:)``,
    ///   ``StableDiffusionError/invalidConfiguration(path:reason:)`` (not JSON, or a value of the
    ///   wrong type) or ``StableDiffusionError/unsupportedConfiguration(path:key:value:)``, naming the file.
    public init(contentsOf url: URL) throws {
        self = try ConfigurationFile.read(Self.self, at: url)
        try validate(source: url.path)
    }
}

extension AutoencoderKLConfiguration: DiffusersConfigurationFile {}
extension UNet2DConditionConfiguration: DiffusersConfigurationFile {}
extension CLIPTextConfiguration: DiffusersConfigurationFile {}
