import ArgumentParser
import Foundation
import NN
import Tensor

/// The `grain` command-line tool.
@main
struct Grain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grain",
        abstract: "Detect AI-generated images as anomalies against the low-level statistics of real photographs.",
        version: "0.1.0",
        subcommands: [Benchmark.self]
    )
}

/// `grain benchmark`: times the extractor's forward pass.
struct Benchmark: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time the feature extractor on random patches.")

    @Option(help: "Weights (.pth or .safetensors).")
    var weights: String = "../shared/weights/beyond-generation/basic.safetensors"
    @Option(help: "Patches per image.") var patches = 1024
    @Option(help: "Repetitions (the best is reported).") var repetitions = 5

    func run() throws {
        let model = try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: weights))
        var generator = RandomGenerator(seed: 0)
        let tokens = Tensor.randomNormal([1, patches, 3, 16, 16], using: &generator)
        _ = model.features(tokens)
        Benchmark.profile(model, tokens)
        Benchmark.micro()
        var best = Double.infinity
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = model.features(tokens)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        print("{\"patches\": \(patches), \"seconds\": \(best), \"patches_per_second\": \(Double(patches) / best)}")
    }
}

extension Benchmark {
    static func profile(_ model: LowLevelFeatureExtractor, _ tokens: Tensor) {
        var last = DispatchTime.now().uptimeNanoseconds
        Tensor.withoutGradient {
            _ = model(tokens) { name, _ in
                let now = DispatchTime.now().uptimeNanoseconds
                FileHandle.standardError.write("\(name): \(Double(now - last) / 1e6) ms\n".data(using: .utf8)!)
                last = now
            }
        }
        let now = DispatchTime.now().uptimeNanoseconds
        FileHandle.standardError.write("transformer: \(Double(now - last) / 1e6) ms\n".data(using: .utf8)!)
    }
}

extension Benchmark {
    static func micro() {
        var generator = RandomGenerator(seed: 0)
        let x = Tensor.randomNormal([1024, 32, 16, 16], using: &generator)
        let w = Tensor.randomNormal([32, 32, 3, 3], using: &generator)
        let b = Tensor.randomNormal([32], using: &generator)
        let lw = Tensor.randomNormal([32, 16, 16], using: &generator)
        func time(_ name: String, _ body: () -> Tensor) {
            _ = body()
            var best = Double.infinity
            for _ in 0..<3 {
                let s = DispatchTime.now().uptimeNanoseconds
                _ = body()
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6)
            }
            FileHandle.standardError.write("\(name): \(best) ms\n".data(using: .utf8)!)
        }
        Tensor.withoutGradient {
            time("conv") { Tensor.conv2d(x, weight: w, bias: b, padding: (1, 1)) }
            time("layerNorm") { Tensor.layerNorm(x, normalizedShape: [32, 16, 16], weight: lw, bias: lw) }
            time("relu") { x.relu() }
            time("avgPool") { Tensor.avgPool2d(x, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) }
            time("add") { x + x }
        }
    }
}
