import ArgumentParser
import Foundation
import Imaging
import NN
import Pretext
import Tensor

/// `grain parity`: reproduces the features the authors' PyTorch code computed, from their
/// released weights and the original image files, and reports the differences.
struct Parity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute the authors' reference features from their weights and images; report the differences.",
        discussion: """
        Reads ../shared (or --shared): weights/beyond-generation/basic.*, \
        fixtures/beyond-generation/basic_features.safetensors and the images it names (in the \
        fixtures folder and data/dev). For each image it computes the feature with the authors' \
        transposed crop and with the correct crop, and compares them with the two features the \
        authors' code produced. Results: a table on standard error, JSON on standard output.
        """)

    @Option(help: "The shared data folder.") var shared = defaultShared

    func run() throws {
        let fixturesURL = URL(fileURLWithPath: "\(shared)/fixtures/beyond-generation/basic_features.safetensors")
        let fixtures = try SafeTensors(contentsOf: fixturesURL)
        let start = Date()
        let model = try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: "\(shared)/weights/beyond-generation/basic.pth"))
        let searchFolders = ["\(shared)/fixtures/beyond-generation", "\(shared)/data/dev"]
        let allFiles = try imageFiles(searchFolders.filter { FileManager.default.fileExists(atPath: $0) })
        let entries = try fixtures.metadata.filter { $0.key.hasPrefix("img") }.sorted { $0.key < $1.key }.map { key, json in
            let info = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            guard let name = info?["file"] as? String else { throw ValidationError("\(fixturesURL.path): metadata \(key) names no file") }
            return (key, name)
        }
        var progress = Progress(total: entries.count, unit: "images")
        var rows: [[String: Any]] = []
        var worst = 0.0
        for (key, name) in entries {
            guard let file = allFiles.first(where: { ($0 as NSString).lastPathComponent == name }) else {
                printError("\(name): not found under \(searchFolders.joined(separator: ", ")); skipped")
                progress.advance()
                continue
            }
            let image = try Image(contentsOfFile: file)
            var row: [String: Any] = ["image": name, "width": image.width, "height": image.height]
            for (mode, suffix) in [(CropMode.authorsCompatible, "feature"), (.centered, "feature_fixedcrop")] {
                let tokens = PatchTokenizer().tokens(image.patchAlignedTensor(cropMode: mode))
                let ours = model.features(tokens).scalars
                let theirs = try fixtures.tensor(named: "\(key).\(suffix)").scalars
                let maxAbs = zip(ours, theirs).map { Double(abs($0 - $1)) }.max() ?? 0
                let scale = Double(theirs.map { abs($0) }.max() ?? 1)
                row[suffix] = ["patches": tokens.shape[1], "max_abs_difference": maxAbs, "relative_to_max": maxAbs / scale]
                worst = max(worst, maxAbs / scale)
            }
            rows.append(row)
            progress.advance()
        }
        let seconds = Date().timeIntervalSince(start)
        printError("image                                              patches  authors' crop  correct crop  (max |Δ| / max |feature|)")
        for row in rows {
            let a = row["feature"] as! [String: Any], c = row["feature_fixedcrop"] as! [String: Any]
            let name = String((row["image"] as! String).prefix(48))
            let padded = name.padding(toLength: 50, withPad: " ", startingAt: 0)
            printError(padded + String(format: " %7d  %12.2e  %12.2e", c["patches"] as! Int,
                                       a["relative_to_max"] as! Double, c["relative_to_max"] as! Double))
        }
        printError(String(format: "worst relative difference %.2e over %d images in %.1f s (parity bound 1e-4)", worst, rows.count, seconds))
        let summary: [String: Any] = ["images": rows, "worst_relative_difference": worst, "seconds": seconds]
        print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
        if worst > 1e-4 { throw ExitCode(1) }
    }
}

/// `grain benchmark`: times the extractor's forward pass on random patches.
struct BenchmarkExtractor: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "benchmark", abstract: "Time the feature extractor on random patches (JSON on standard output).")

    @OptionGroup var extractor: ExtractorOptions
    @Option(help: "Patches per image.") var patches = 1024
    @Option(help: "Repetitions (the best is reported).") var repetitions = 5
    @Flag(help: "Also print the time of each stage of one forward pass on standard error (layer by layer, as when intermediates are recorded).") var stages = false
    @Flag(help: "Turn off the cache of freed tensor buffers (to measure its effect).") var noBufferCache = false
    @Flag(help: "Run the per-patch stack layer by layer instead of as one pipeline of 16-patch blocks (to measure its effect).") var noPatchBlocks = false

    func run() throws {
        if noBufferCache { BufferCache.shared.totalLimitBytes = 0 }
        let model = try extractor.load()
        var generator = RandomGenerator(seed: 0)
        let tokens = Tensor.randomNormal([1, patches, 3, 16, 16], using: &generator)
        var best = Double.infinity
        ConvolutionAlgorithms.$patchBlocksEnabled.withValue(!noPatchBlocks) {
            _ = model.features(tokens)
            for _ in 0..<repetitions {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = model.features(tokens)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        if stages {
            var last = DispatchTime.now().uptimeNanoseconds
            Tensor.withoutGradient {
                _ = model(tokens) { name, _ in
                    let now = DispatchTime.now().uptimeNanoseconds
                    printError(String(format: "%-16@ %8.1f ms", name as NSString, Double(now - last) / 1e6))
                    last = now
                }
            }
            printError(String(format: "%-16@ %8.1f ms", "transformer" as NSString, Double(DispatchTime.now().uptimeNanoseconds - last) / 1e6))
        }
        print("{\"patches\": \(patches), \"seconds\": \(best), \"patches_per_second\": \(Double(patches) / best), "
              + "\"kernels\": \"\(Kernels.activeLevel)\", \"openblas_core\": \"\(BLASThreading.coreName)\", "
              + "\"threads\": \(Parallel.threadCount), \"patch_blocks\": \(!noPatchBlocks)}")
    }
}
