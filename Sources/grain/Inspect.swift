import ArgumentParser
import Foundation
import OneClass
import Tensor

/// `grain inspect`: what a weights or detector file holds.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a weights file (keys, dtypes, shapes, parameter count) or a detector file (its metadata).")

    @Argument(help: "A .pth, .safetensors or detector file.") var file: String

    func run() throws {
        let url = URL(fileURLWithPath: file)
        let weights = try openWeightFile(at: url)
        if let safetensors = weights as? SafeTensors, let description = Detector.metadataDescription(of: safetensors) {
            let detector = try Detector(contentsOf: url)
            print("Grain detector, \(detector.members.count) member(s), \(safetensors.keys.count) tensors")
            for (index, member) in detector.members.enumerated() {
                print("  member \(index): \(member.provenance.weightsFileName) (sha256 \(member.provenance.weightsSHA256)), "
                      + "\(member.mixture.componentCount) × \(member.mixture.covarianceType) mixture, threshold \(member.threshold)")
            }
            print(description)
            return
        }
        var total = 0
        print("\(weights is SafeTensors ? "safetensors" : "PyTorch checkpoint"), \(weights.keys.count) tensors")
        for key in weights.keys {
            let shape = try weights.shape(named: key)
            let dtype: String
            if let safetensors = weights as? SafeTensors {
                dtype = try safetensors.info(named: key).dtype.safetensorsName
            } else if let checkpoint = weights as? PyTorchCheckpoint {
                dtype = try checkpoint.record(named: key).dtype.safetensorsName
            } else {
                dtype = "?"
            }
            total += Shape.count(shape)
            print("  \(key)  \(dtype)  \(shape)")
        }
        print("\(total) parameters")
        if let safetensors = weights as? SafeTensors, !safetensors.metadata.isEmpty {
            for (key, value) in safetensors.metadata.sorted(by: { $0.key < $1.key }) { print("metadata \(key): \(value)") }
        }
    }
}
