import Foundation
import NN
import Tensor

/// Checkpoints `checkpoint-<step>.safetensors` in a folder: a model's weights, Adam's state
/// (`optimizer.` keys) and string metadata (`format`, `version`, `step`, and the trainer's own
/// keys), written atomically; the two newest are kept. The one checkpoint/resume mechanism of
/// Grain's trainers (the autoencoder and U-Net trainers here, Pretext's extractor trainer).
package struct TrainingCheckpoints {
    /// The folder holding the checkpoints.
    package let folder: URL
    /// The `format` metadata value that marks this trainer's checkpoints.
    package let format: String

    /// Checkpoints of `format` in `folder`.
    package init(folder: URL, format: String) {
        self.folder = folder
        self.format = format
    }

    /// The checkpoint files, oldest first.
    package func list() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".safetensors"),
                  let s = Int(name.dropFirst("checkpoint-".count).dropLast(".safetensors".count)) else { return nil }
            return (s, folder.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// Writes `checkpoint-<step>.safetensors` with the model, the optimizer's state and
    /// `metadata` (beside `format`, `version` and `step`), then deletes all but the two newest.
    package func write(model: Module, optimizer: Adam, step: Int, metadata: [String: String]) throws {
        var tensors = model.stateDictionary()
        for (key, value) in optimizer.state { tensors["optimizer." + key] = value }
        let all = metadata.merging(["format": format, "version": "1", "step": String(step)]) { _, fixed in fixed }
        try SafeTensors.write(tensors, metadata: all, to: folder.appendingPathComponent("checkpoint-\(step).safetensors"))
        for old in list().dropLast(2) { try? FileManager.default.removeItem(at: old.url) }
    }

    /// Loads the newest checkpoint into `model` (strictly) and `optimizer` if `accepting` its
    /// metadata; returns its step and metadata, or `nil` when there is none.
    ///
    /// - Throws: ``TrainingCheckpointError/invalid(path:reason:)`` naming the file when it is not
    ///   this trainer's or `accepting` refuses it; weight-file errors for a damaged file.
    package func resume(model: Module, optimizer: inout Adam,
                        accepting: ([String: String]) throws -> Bool) throws -> (step: Int, metadata: [String: String])? {
        guard let newest = list().last else { return nil }
        let file = try SafeTensors(contentsOf: newest.url)
        guard file.metadata["format"] == format, let step = file.metadata["step"].flatMap(Int.init) else {
            throw TrainingCheckpointError.invalid(path: newest.url.path, reason: "not a \(format) checkpoint")
        }
        guard try accepting(file.metadata) else {
            throw TrainingCheckpointError.invalid(path: newest.url.path, reason: "written with another configuration; use a new output folder")
        }
        let optimizerKeys = file.keys.filter { $0.hasPrefix("optimizer.") }
        try model.load(from: file, strict: true, ignoring: Set(optimizerKeys))
        var state: [String: Tensor] = [:]
        for key in optimizerKeys { state[String(key.dropFirst("optimizer.".count))] = try file.tensor(named: key) }
        try optimizer.load(state: state)
        return (step, file.metadata)
    }
}

/// Why a training checkpoint cannot be resumed (any of Grain's trainers).
public enum TrainingCheckpointError: Error, CustomStringConvertible {
    /// The checkpoint is not usable.
    case invalid(path: String, reason: String)

    /// A readable explanation naming the file.
    public var description: String {
        switch self { case .invalid(let path, let reason): "\(path): \(reason)" }
    }
}
