#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GrainTestSupport
import Imaging
import NN
import Tensor
import Testing

/// `grain detect` and `grain features` on folder entries they cannot read and on a degenerate
/// detector, and their flag checks (issue 17). Before: a symbolic link loop, a dangling link
/// and a non-UTF-8 name were dropped from a folder with no row and no count, a loop given
/// directly read as "NSCocoaErrorDomain error 256", a non-finite score left no row on standard
/// output (the JSON encoder's error went to standard error) while the summary still counted the
/// image and the exit code was 0, and `features` defaulted to a checkpoint in ../shared.
@Suite("grain on hostile inputs", .enabled(if: grainExecutable != nil, "the grain executable is not built next to the tests: skipped"))
struct HostileInputCommandTests {
    /// A fresh folder with random extractor weights, 8 noisy photos in `real/` and a detector
    /// fitted on them.
    static func fitted() throws -> (folder: URL, weights: URL, detector: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-hostile-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("real"), withIntermediateDirectories: true)
        let weights = folder.appendingPathComponent("weights.safetensors")
        try writeRandomExtractorWeights(to: weights)
        for index in 0..<8 {
            try noisyImage(seed: UInt64(index)).write(to: folder.appendingPathComponent("real/photo\(index).png"))
        }
        let detector = folder.appendingPathComponent("detector.safetensors")
        let fit = try grain(["fit", "--weights", weights.path, "--real", folder.appendingPathComponent("real").path,
                             "--out", detector.path, "--components", "1", "--covariance", "spherical",
                             "--calibrate", "0.25", "--target-fpr", "0.5", "--seed", "3"], in: folder)
        #expect(fit.status == 0, "\(fit.errors)")
        return (folder, weights, detector)
    }

    /// The fields of one CSV line (RFC 4180 quoting: a quoted field may hold commas and `""`).
    static func csvFields(_ line: Substring) -> [String] {
        var fields: [String] = [], field = "", quoted = false
        var characters = line.makeIterator()
        while let character = characters.next() {
            if quoted {
                if character == "\"" { quoted = false } else { field.append(character) }
            } else if character == "\"" {
                if field.isEmpty { quoted = true } else { field.append(character) }
            } else if character == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
        }
        fields.append(field)
        return fields
    }

    /// Calls `body` with `bytes` as a NUL-terminated C string.
    static func withCPath<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (bytes + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }

    @Test func everyUnusableFolderEntryGetsAnErrorRowAndCountsAsFailed() throws {
        let (folder, weights, detector) = try Self.fitted()
        let batch = folder.appendingPathComponent("batch")
        try FileManager.default.createDirectory(at: batch, withIntermediateDirectories: true)
        // A good image under a name that is not UTF-8 (bytes 0xFF 0xFE), written through open(2).
        let invalidName = Array(batch.path.utf8) + Array("/bad-".utf8) + [0xFF, 0xFE] + Array(".png".utf8)
        defer {
            _ = Self.withCPath(invalidName) { unlink($0) }
            try? FileManager.default.removeItem(at: folder)
        }
        func path(_ name: String) -> String { batch.appendingPathComponent(name).path }
        try noisyImage(seed: 60).write(to: batch.appendingPathComponent("good.png"))
        let png = try Data(contentsOf: batch.appendingPathComponent("good.png"))
        let descriptor = Self.withCPath(invalidName) { open($0, O_CREAT | O_WRONLY, 0o644) }
        #expect(descriptor >= 0)
        #expect(png.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == png.count)
        close(descriptor)
        try FileManager.default.createSymbolicLink(atPath: path("loop-a.png"), withDestinationPath: path("loop-b.png"))
        try FileManager.default.createSymbolicLink(atPath: path("loop-b.png"), withDestinationPath: path("loop-a.png"))
        try FileManager.default.createSymbolicLink(atPath: path("dangling.jpg"), withDestinationPath: path("gone.jpg"))
        #expect(mkfifo(path("pipe.png"), 0o600) == 0)
        let expected: [String: String] = [
            path("bad-") + "\\xff\\xfe.png": "the file name is not valid UTF-8",
            path("dangling.jpg"): "cannot read the file: dangling symbolic link (its target does not exist)",
            path("loop-a.png"): "cannot read the file: symbolic link loop (too many levels of symbolic links)",
            path("loop-b.png"): "cannot read the file: symbolic link loop (too many levels of symbolic links)",
            path("pipe.png"): "cannot read the file: it is a FIFO (named pipe), not a regular file",
        ]

        // detect --json: one row per entry, every unusable one an error row naming it; exit code 1.
        let json = try grain(["detect", "--detector", detector.path, "--json", batch.path], in: folder)
        #expect(json.status == 1)
        let rows = json.jsonLines
        #expect(rows.count == 6 && json.output.split(separator: "\n").count == 6, "\(json.output)")
        var errors: [String: String] = [:]
        for row in rows {
            let rowPath = try #require(row["path"] as? String)
            if let error = row["error"] as? String { errors[rowPath] = error } else { #expect(rowPath == path("good.png") && row["verdict"] is String) }
        }
        #expect(Set(errors.keys) == Set(expected.keys))
        for (entry, message) in expected {
            #expect(errors[entry]?.hasPrefix(entry + ": ") == true && errors[entry]?.contains(message) == true, "\(entry): \(errors[entry] ?? "no row")")
        }
        #expect(json.errors.contains(", 5 failed"), "\(json.errors)")

        // Text output: the same five error lines.
        let text = try grain(["detect", "--detector", detector.path, batch.path], in: folder)
        #expect(text.status == 1)
        #expect(text.output.split(separator: "\n").filter { $0.hasPrefix("error ") }.count == 5, "\(text.output)")

        // A loop given explicitly: named as a loop, not "NSCocoaErrorDomain error 256".
        let explicit = try grain(["detect", "--detector", detector.path, "--json", path("loop-a.png")], in: folder)
        #expect(explicit.status == 1)
        let explicitError = try #require(explicit.jsonLines.first?["error"] as? String)
        #expect(explicitError.contains("symbolic link loop") && !explicitError.contains("NSCocoaErrorDomain"), "\(explicitError)")

        // features: the same rows in JSON, and in CSV an error column (the header's last) on every row.
        let features = try grain(["features", "--weights", weights.path, "--json", batch.path], in: folder)
        #expect(features.status == 1)
        #expect(features.jsonLines.count == 6 && features.jsonLines.filter { $0["error"] != nil }.count == 5)
        let csv = try grain(["features", "--weights", weights.path, "--format", "csv", batch.path], in: folder)
        #expect(csv.status == 1)
        let lines = csv.output.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.count == 7, "\(csv.output.prefix(2000))")
        let header = Self.csvFields(lines[0])
        #expect(header.count == 2 + 528 + 1 && header.first == "path" && header.last == "error")
        let rowsByPath = Dictionary(lines.dropFirst().map { line in (Self.csvFields(line)[0], Self.csvFields(line)) }) { first, _ in first }
        #expect(rowsByPath.count == 6)
        for (rowPath, fields) in rowsByPath {
            #expect(fields.count == header.count, "\(rowPath): \(fields.count) fields")
            if let message = expected[rowPath] {
                #expect(fields[1].isEmpty && fields.last?.contains(message) == true, "\(rowPath): \(fields.last ?? "")")
            } else {
                #expect(rowPath == path("good.png") && fields.last?.isEmpty == true && Int(fields[1]) != nil)
            }
        }
    }

    @Test func nonFiniteScoresAreErrorRowsInEveryFormat() throws {
        let (folder, _, detector) = try Self.fitted()
        defer { try? FileManager.default.removeItem(at: folder) }
        try rewriteDetectorMeans(at: detector, to: 1e200)  // every log-likelihood −∞
        let images = folder.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for index in 0..<2 { try noisyImage(seed: UInt64(70 + index)).write(to: images.appendingPathComponent("i\(index).png")) }

        let json = try grain(["detect", "--detector", detector.path, "--json", images.path], in: folder)
        #expect(json.status == 1)
        #expect(json.jsonLines.count == 2 && json.output.split(separator: "\n").count == 2, "\(json.output) \(json.errors)")
        for row in json.jsonLines {
            #expect(row["logLikelihood"] == nil && row["verdict"] == nil)
            #expect((row["error"] as? String)?.contains("the log-likelihood of extractor 0 is not finite (-inf)") == true, "\(row)")
        }
        #expect(json.errors.contains("0 real, 0 generated, 0 uncertain, 2 failed"), "\(json.errors)")
        #expect(!json.errors.contains("cannot encode"))

        let text = try grain(["detect", "--detector", detector.path, images.path], in: folder)
        #expect(text.status == 1)
        let lines = text.output.split(separator: "\n")
        #expect(lines.count == 2 && lines.allSatisfy { $0.hasPrefix("error ") && !$0.contains("nan") }, "\(text.output)")

        let results = folder.appendingPathComponent("results.jsonl")
        let resumed = try grain(["detect", "--detector", detector.path, "--json", "--skip-done", results.path, images.path], in: folder)
        #expect(resumed.status == 1)
        #expect(try String(contentsOf: results, encoding: .utf8).split(separator: "\n").count == 2)
    }

    @Test func nonFiniteFeaturesAreErrorRowsInJSONAndCSV() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-hostile-features-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Finite weights so large that the first convolution overflows float32.
        var huge: [String: Tensor] = [:]
        for (index, (key, parameter)) in LowLevelFeatureExtractor().namedParameters().enumerated() {
            huge[key] = randomTensor(parameter.shape, seed: UInt64(index), lower: 1e37, upper: 3e38)
        }
        let weights = folder.appendingPathComponent("huge.safetensors")
        try SafeTensors.write(huge, to: weights)
        let image = folder.appendingPathComponent("a.png")
        try noisyImage(seed: 80).write(to: image)
        let json = try grain(["features", "--weights", weights.path, "--json", image.path], in: folder)
        #expect(json.status == 1)
        #expect(json.jsonLines.count == 1 && (json.jsonLines.first?["error"] as? String)?.contains("is not finite") == true,
                "\(json.output.prefix(500)) \(json.errors)")
        let csv = try grain(["features", "--weights", weights.path, "--format", "csv", image.path], in: folder)
        #expect(csv.status == 1)
        let rows = csv.output.split(separator: "\n")
        #expect(rows.count == 2 && rows[1].hasPrefix(image.path + ",,") && rows[1].contains("is not finite")
                && !rows[1].lowercased().contains(",nan"), "\(csv.output.prefix(500))")
    }

    @Test func flagsAreCheckedBeforeAnyWork() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-hostile-flags-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // The detector does not exist: the flag error must come first.
        for flags in [["--pixel-limit", "-5"], ["--pixel-limit=-5"], ["--pixel-limit", "0"]] {
            let run = try grain(["detect", "--detector", "/nonexistent/d.safetensors"] + flags + ["x.png"], in: folder)
            #expect(run.status != 0)
            #expect(run.errors.contains("--pixel-limit must be ≥ 1, got \(flags.last!.replacingOccurrences(of: "--pixel-limit=", with: ""))"), "\(flags): \(run.errors)")
            #expect(!run.errors.contains("Missing value"))
        }
        let patches = try grain(["features", "--weights", "/nonexistent/w.safetensors", "--maximum-patches", "-1", "x.png"], in: folder)
        #expect(patches.status != 0 && patches.errors.contains("--maximum-patches must be positive"), "\(patches.errors)")
        // features has no built-in weights: without --weights and GRAIN_WEIGHTS it names the flag.
        if ProcessInfo.processInfo.environment["GRAIN_WEIGHTS"] == nil {
            let run = try grain(["features", "x.png"], in: folder)
            #expect(run.status != 0 && run.errors.contains("--weights: no extractor weights given"), "\(run.errors)")
        }
        // The --crop help shows a default that is one of its values.
        let help = try grain(["features", "--help"], in: folder)
        let helpText = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(helpText.contains("center (correct, the default)") && !helpText.contains("centered"), "\(help.output)")
    }
}
