import ArgumentParser
import Foundation
import Imaging
import NN
import OneClass
import Tensor

/// Where the shared data of a development checkout lives, relative to the working directory.
let defaultShared = "../shared"

/// The default extractor weights: the authors' basic checkpoint in the shared data.
let defaultWeights = "\(defaultShared)/weights/beyond-generation/basic.safetensors"

extension CropMode: ExpressibleByArgument {
    /// Accepts `center` (also `centered`, `centre`) and `authors` (also `authorsCompatible`).
    public init?(argument: String) {
        switch argument.lowercased() {
        case "center", "centered", "centre": self = .centered
        case "authors", "authorscompatible": self = .authorsCompatible
        default: return nil
        }
    }

    /// The spellings shown in help.
    public static var allValueStrings: [String] { ["center", "authors"] }
}

/// Options for loading the extractor.
struct ExtractorOptions: ParsableArguments {
    @Option(help: "Extractor weights: the authors' basic, ft_genimage or ft_drct2m (.pth or .safetensors).")
    var weights = defaultWeights

    func load() throws -> LowLevelFeatureExtractor {
        try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: weights))
    }
}

/// Options for turning images into patch tokens.
struct TokenizerOptions: ParsableArguments {
    @Option(name: [.customLong("crop"), .customLong("crop-mode")],
            help: "Crop to whole patches: center (correct) or authors (the release's transposed crop).")
    var crop: CropMode = .centered
    @Option(help: "At most this many 16×16 patches per image (raster order).") var maximumPatches = 19_200

    func validate() throws {
        guard maximumPatches > 0 else { throw ValidationError("--maximum-patches must be positive") }
    }

    /// The tokenizer of these options; ArgumentParser calls ``validate()`` before any command runs.
    var tokenizer: ImageTokenizer {
        do { return try ImageTokenizer(cropMode: crop, maximumPatches: maximumPatches) } catch {
            fatalError("TokenizerOptions.validate() let through \(error)")
        }
    }
}

/// `grain features`: the 528-d low-level feature of each image.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute the 528-d low-level feature of each image (JSON lines or CSV on standard output).",
        discussion: """
            JSON: one object per image, {"path", "patches", "feature": [528 numbers]}, or {"path", "error"} for a \
            file that cannot be read; CSV: a header row, then path, patches and the 528 values (errors on standard \
            error). Folders are searched recursively for .jpg, .jpeg and .png files. The exit code is 1 when any \
            file failed.
            """)

    @OptionGroup var extractor: ExtractorOptions
    @OptionGroup var tokenizerOptions: TokenizerOptions
    @Option(help: "Output format: json (one object per line) or csv.") var format = "json"
    @Flag(help: "JSON lines output (the default; same as --format json).") var json = false
    @Argument(help: "Image files or folders (JPEG, PNG).") var paths: [String]

    func run() throws {
        guard format == "json" || format == "csv" else { throw ValidationError("--format must be json or csv") }
        let csv = format == "csv" && !json
        let model = try extractor.load()
        let tokenizer = tokenizerOptions.tokenizer
        let files: [URL] = ImageFiles.expand(paths)
        var progress = Progress(total: files.count, unit: "images")
        var failures = 0
        if csv { print((["path", "patches"] + (0..<528).map { "f\($0)" }).joined(separator: ",")) }
        Prefetcher.run(count: files.count, lookahead: 2, prepare: { index in
            Result { () throws(ImageError) -> Tensor in tokenizer.tokens(try Image(contentsOf: files[index])) }
        }, consume: { index, prepared in
            let path = files[index].path
            switch prepared {
            case let .success(tokens):
                let feature = model.features(tokens).scalars
                if csv {
                    print(([csvField(path), "\(tokens.shape[1])"] + feature.map { "\($0)" }).joined(separator: ","))
                } else {
                    printJSONLine(["path": path, "patches": tokens.shape[1], "feature": feature.map(Double.init)])
                }
            case let .failure(error):
                failures += 1
                if csv { printError(error.description) } else { printJSONLine(["path": path, "error": error.description]) }
            }
            progress.advance()
        })
        if failures > 0 {
            printError("\(failures) of \(files.count) files could not be read")
            throw ExitCode.failure
        }
    }
}

/// Every JPEG or PNG file under `paths` (folders searched recursively, sorted); a path that does
/// not exist is a validation error.
func imageFiles(_ paths: [String]) throws -> [String] {
    for path in paths where !FileManager.default.fileExists(atPath: path) {
        throw ValidationError("\(path): no such file or folder")
    }
    return ImageFiles.expand(paths)
}

/// One JSON object as one line (keys sorted, no newline); nil when it cannot be encoded.
func jsonLine(_ object: [String: Any]) -> String? {
    (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        .map { String(decoding: $0, as: UTF8.self) }
}

/// Prints one JSON object on one line of standard output (keys sorted).
func printJSONLine(_ object: [String: Any]) {
    guard let line = jsonLine(object) else {
        printError("cannot encode \(object) as JSON")
        return
    }
    print(line)
}

func csvField(_ text: String) -> String {
    text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
}
