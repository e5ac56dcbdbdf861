import ArgumentParser
import Foundation
import Imaging
import Tensor

/// `grain convert`: a PyTorch checkpoint as a safetensors file.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a PyTorch checkpoint (.pth) to safetensors (every tensor as float32).",
        discussion: """
            Keys are kept as they are in the checkpoint's state dict; the metadata records the source file's name \
            and SHA-256. The output is written atomically.
            """)

    @Argument(help: "The checkpoint to read (.pth, .pt, .bin, or a safetensors file).") var input: String
    @Argument(help: "The safetensors file to write.") var output: String

    func run() throws {
        let inputURL = URL(fileURLWithPath: input)
        let file = try openWeightFile(at: inputURL)
        let tensors = try file.tensors()
        let metadata = ["format": "pt", "source": inputURL.lastPathComponent,
                        "source_sha256": try SHA256.hexDigest(ofFileAt: inputURL)]
        try SafeTensors.write(tensors.map { ($0.key, $0.tensor) }, metadata: metadata, to: URL(fileURLWithPath: output))
        let parameters = tensors.reduce(0) { $0 + $1.tensor.count }
        print("wrote \(tensors.count) tensors (\(parameters) parameters) to \(output)")
    }
}
