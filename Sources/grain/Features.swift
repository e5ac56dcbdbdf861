import ArgumentParser
import Foundation
import Imaging
import NN
import Pretext
import Tensor

/// Where the shared data of a development checkout lives, relative to the working directory.
let defaultShared = "../shared"

extension CropMode: ExpressibleByArgument {}

/// Options for loading the extractor.
struct ExtractorOptions: ParsableArguments {
    @Option(help: "Extractor weights: the authors' basic, ft_genimage or ft_drct2m (.pth or .safetensors).")
    var weights = "\(defaultShared)/weights/beyond-generation/basic.safetensors"

    func load() throws -> LowLevelFeatureExtractor {
        try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: weights))
    }
}

/// `grain features`: the 528-d low-level feature of each image.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute the 528-d low-level feature of each image (JSON lines or CSV on standard output).")

    @OptionGroup var extractor: ExtractorOptions
    @Option(help: "Crop: centered (correct) or authorsCompatible (the release's transposed crop).")
    var cropMode: CropMode = .centered
    @Option(help: "At most this many 16×16 patches per image (raster order).") var maximumPatches = 19_200
    @Option(help: "Output format: json (one object per line) or csv.") var format = "json"
    @Argument(help: "Image files or folders (JPEG, PNG).") var paths: [String]

    func run() throws {
        guard format == "json" || format == "csv" else { throw ValidationError("--format must be json or csv") }
        let model = try extractor.load()
        let tokenizer = PatchTokenizer(cropMode: cropMode, maximumPatches: maximumPatches)
        let files = try imageFiles(paths)
        var progress = Progress(total: files.count, unit: "images")
        if format == "csv" { print((["file", "patches"] + (0..<528).map { "f\($0)" }).joined(separator: ",")) }
        for file in files {
            let image = try Image(contentsOfFile: file)
            let tokens = tokenizer.tokens(image)
            let feature = model.features(tokens).scalars
            if format == "csv" {
                print(([csvField(file), "\(tokens.shape[1])"] + feature.map { "\($0)" }).joined(separator: ","))
            } else {
                let object: [String: Any] = ["file": file, "patches": tokens.shape[1], "feature": feature.map(Double.init)]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            }
            progress.advance()
        }
    }
}

/// Every JPEG or PNG file under `paths` (folders searched recursively), sorted.
func imageFiles(_ paths: [String]) throws -> [String] {
    var result: [String] = []
    let extensions: Set<String> = ["jpg", "jpeg", "png"]
    for path in paths {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or folder")
        }
        if isDirectory.boolValue {
            let entries = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
            result += entries.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted().map { (path as NSString).appendingPathComponent($0) }
        } else {
            result.append(path)
        }
    }
    return result
}

func csvField(_ text: String) -> String {
    text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
}
