import ArgumentParser
import Foundation
import Imaging
import NN
import OneClass
import Tensor

/// Where the shared data of a development checkout lives, relative to the working directory.
let defaultShared = "../shared"

/// The extractor weights `grain benchmark` times by default: the authors' basic checkpoint in the
/// shared data of a development checkout (user-facing commands have no built-in default).
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

/// Options for loading the extractor in development commands (`grain benchmark`).
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
            help: "Crop to whole patches: center (correct, the default) or authors (the release's transposed crop).")
    var crop: CropMode?
    @Option(parsing: .unconditional, help: "At most this many 16×16 patches per image (raster order).") var maximumPatches = 19_200

    func validate() throws {
        guard maximumPatches > 0 else { throw ValidationError("--maximum-patches must be positive") }
    }

    /// The tokenizer of these options; ArgumentParser calls ``validate()`` before any command runs.
    var tokenizer: ImageTokenizer {
        do { return try ImageTokenizer(cropMode: crop ?? .centered, maximumPatches: maximumPatches) } catch {
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
            file that cannot be read or whose feature is not finite (NaN or infinite); CSV: a header row \
            (path, patches, f0…f527, error), then per image its path, patches and 528 values with an empty error, \
            or its path, empty fields and the error. Folders are searched recursively for .jpg, .jpeg and .png \
            files; an entry there with such a name that cannot be read (a symbolic link loop, a dangling link, a \
            FIFO or socket, a name that is not valid UTF-8, shown with its bytes as \\xNN) gets its error row first. \
            The exit code is 1 when any file failed.
            """)

    @Option(help: ArgumentHelp("Extractor weights: the authors' basic, ft_genimage or ft_drct2m (.pth or .safetensors); default $GRAIN_WEIGHTS (there is no built-in default).",
                               valueName: "weights"))
    var weights: String?
    @OptionGroup var tokenizerOptions: TokenizerOptions
    @Option(help: "Output format: json (one object per line) or csv.") var format = "json"
    @Flag(help: "JSON lines output (the default; same as --format json).") var json = false
    @Argument(help: "Image files or folders (JPEG, PNG).") var paths: [String]

    func run() throws {
        guard format == "json" || format == "csv" else { throw ValidationError("--format must be json or csv") }
        let csv = format == "csv" && !json
        let weightFiles = try resolvedWeights(weights.map { [$0] } ?? [])
        guard weightFiles.count == 1 else {
            throw ValidationError("--weights: \(weightsEnvironmentVariable) names \(weightFiles.count) files; grain features uses one extractor (pass --weights)")
        }
        let model = try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: weightFiles[0]))
        let tokenizer = tokenizerOptions.tokenizer
        let entries = ImageFiles.list(pathBytes: paths.map(CommandLineArguments.pathBytes))
        let files: [URL] = entries.filter { $0.problem == nil }.map { URL(fileURLWithPath: $0.path) }
        var progress = Progress(total: files.count, unit: "images")
        var failures = 0
        let dimension = LowLevelFeatureExtractor.featureDimension
        /// One error row: JSON `{"path", "error"}`, or a CSV row with the path, empty fields and the error.
        func printErrorRow(path: String, message: String) {
            failures += 1
            if csv {
                print(([csvField(path)] + Array(repeating: "", count: 1 + dimension) + [csvField(message)]).joined(separator: ","))
            } else {
                printJSONLine(["path": path, "error": message])
            }
        }
        if csv { print((["path", "patches"] + (0..<dimension).map { "f\($0)" } + ["error"]).joined(separator: ",")) }
        for entry in entries {
            if let problem = entry.problem {
                printErrorRow(path: entry.path, message: ImageError.unreadable(path: entry.path, reason: problem).description)
            }
        }
        Prefetcher.run(count: files.count, lookahead: 2, prepare: { index in
            Result { () throws(ImageError) -> Tensor in tokenizer.tokens(try Image(contentsOf: files[index])) }
        }, consume: { index, prepared in
            let path = files[index].path
            switch prepared {
            case let .success(tokens):
                let feature = model.features(tokens).scalars
                guard let bad = feature.firstIndex(where: { !$0.isFinite }) else {
                    if csv {
                        print(([csvField(path), "\(tokens.shape[1])"] + feature.map { "\($0)" } + [""]).joined(separator: ","))
                    } else {
                        printJSONLine(["path": path, "patches": tokens.shape[1], "feature": feature.map(Double.init)])
                    }
                    break
                }
                printErrorRow(path: path, message: "\(path): feature \(bad) is not finite (\(feature[bad])); the extractor's weights or the image give no usable feature")
            case let .failure(error):
                printErrorRow(path: path, message: error.description)
            }
            progress.advance()
        })
        if failures > 0 {
            printError("\(failures) of \(entries.count) files could not be read or gave no finite feature")
            throw ExitCode.failure
        }
    }
}

/// Every JPEG or PNG file under `paths` (folders searched recursively, sorted); a path that does
/// not exist is a validation error. An image-named folder entry that cannot be read (a link loop,
/// a dangling link, a FIFO, a name that is not valid UTF-8) is left out with a line on standard
/// error saying so (commands that report per file, `detect` and `features`, give it an error row).
func imageFiles(_ paths: [String]) throws -> [String] {
    var leftOut = 0
    return try imageFiles(paths, leftOut: &leftOut)
}

/// ``imageFiles(_:)``, counting in `leftOut` the entries it left out (each with its line on
/// standard error), for a summary that says so.
func imageFiles(_ paths: [String], leftOut: inout Int) throws -> [String] {
    for path in paths where !FileManager.default.fileExists(atPath: path) {
        throw ValidationError("\(path): no such file or folder")
    }
    var files: [String] = []
    for entry in ImageFiles.list(paths) {
        if let problem = entry.problem {
            printError("skipped \(ImageError.unreadable(path: entry.path, reason: problem).description)")
            leftOut += 1
        } else {
            files.append(entry.path)
        }
    }
    return files
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
