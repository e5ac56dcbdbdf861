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

    /// A photo in a format Grain does not decode (dev2 holds a WebP and a TIFF) was left out of
    /// folders without a word: `fit` now names it and counts it in its summary, `detect` gives it
    /// an error row and counts it as failed.
    @Test func imagesInUnreadFormatsAreNamedAndCounted() throws {
        let (folder, weights, detector) = try Self.fitted()
        defer { try? FileManager.default.removeItem(at: folder) }
        let photos = folder.appendingPathComponent("real")
        try Data("RIFF....WEBPVP8 ".utf8).write(to: photos.appendingPathComponent("phone.webp"))
        let problem = "image format webp is not read (Grain reads JPEG and PNG); convert it to PNG to include it"
        let fit = try grain(["fit", "--weights", weights.path, "--real", photos.path, "--out", folder.appendingPathComponent("d2.safetensors").path,
                             "--components", "1", "--covariance", "spherical", "--calibrate", "0.25", "--target-fpr", "0.5"], in: folder)
        #expect(fit.status == 0, "\(fit.errors)")
        #expect(fit.errors.contains("skipped \(photos.path)/phone.webp: cannot read the file: \(problem)"), "\(fit.errors)")
        #expect(fit.output.contains("0 skipped (and 1 folder entry left out, listed above)"), "\(fit.output)")
        let detect = try grain(["detect", "--detector", detector.path, "--json", photos.path], in: folder)
        #expect(detect.status == 1)
        let rows = detect.output.split(separator: "\n")
        #expect(rows.count == 9)
        #expect(rows.filter { $0.contains("phone.webp") && $0.contains(problem) }.count == 1, "\(detect.output)")
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

    /// Runs `grain` with arguments given as bytes (a `Process` takes only `String`s, which cannot
    /// hold a name that is not UTF-8), standard output and error captured through files.
    static func grainWithBytes(_ rawArguments: [[UInt8]], in folder: URL) throws -> Run {
        let executable = Array(grainExecutable!.path.utf8)
        let outURL = folder.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errURL = folder.appendingPathComponent("stderr-\(UUID().uuidString)")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + rawArguments).map { bytes in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (index, byte) in bytes.enumerated() { pointer[index] = CChar(bitPattern: byte) }
            pointer[bytes.count] = 0
            return pointer
        } + [nil]
        defer { argv.forEach { $0?.deallocate() } }
        var pid: pid_t = 0
        let spawned = Self.withCPath(executable) { posix_spawn(&pid, $0, &actions, nil, argv, environ) }
        #expect(spawned == 0)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        return Run(status: (status >> 8) & 0xFF,
                   output: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                   errors: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Before: `CommandLine.arguments` turned the byte 0xFF into U+FFFD, so `grain detect
    /// $'\xff.png'` looked for another name and reported the file as missing.
    @Test func pathArgumentsThatAreNotUTF8AreReportedEscapedNotAsMissing() throws {
        let (folder, weights, detector) = try Self.fitted()
        let base = Array(folder.path.utf8) + [UInt8(ascii: "/")]
        let badFile = base + Array("bad-".utf8) + [0xFF, 0xFE] + Array(".png".utf8)
        let badFolder = base + Array("folder-".utf8) + [0xFF]
        let inFolder = badFolder + Array("/inside.png".utf8)
        let missing = base + Array("missing-".utf8) + [0xC3] + Array(".png".utf8)
        defer {
            _ = Self.withCPath(badFile) { unlink($0) }
            _ = Self.withCPath(inFolder) { unlink($0) }
            _ = Self.withCPath(badFolder) { rmdir($0) }
            try? FileManager.default.removeItem(at: folder)
        }
        try noisyImage(seed: 61).write(to: folder.appendingPathComponent("good.png"))
        let png = try Data(contentsOf: folder.appendingPathComponent("good.png"))
        #expect(Self.withCPath(badFolder) { mkdir($0, 0o755) } == 0)
        for name in [badFile, inFolder] {
            let descriptor = Self.withCPath(name) { open($0, O_CREAT | O_WRONLY, 0o644) }
            #expect(descriptor >= 0)
            #expect(png.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == png.count)
            close(descriptor)
        }
        let good = folder.appendingPathComponent("good.png").path
        let escaped: [String: String] = [
            folder.path + "/bad-\\xff\\xfe.png": "the file name is not valid UTF-8",
            folder.path + "/folder-\\xff/inside.png": "the file name is not valid UTF-8",
            folder.path + "/missing-\\xc3.png": "(and it cannot be read: No such file or directory)",
        ]

        // detect --json: an error row under the escaped name for each, a verdict for the good one.
        let json = try Self.grainWithBytes([Array("detect".utf8), Array("--detector".utf8), Array(detector.path.utf8),
                                                 Array("--json".utf8), badFile, badFolder, missing, Array(good.utf8)], in: folder)
        #expect(json.status == 1, "\(json.errors)")
        var errors: [String: String] = [:]
        for row in json.jsonLines {
            let rowPath = try #require(row["path"] as? String)
            if let error = row["error"] as? String { errors[rowPath] = error } else { #expect(rowPath == good && row["verdict"] is String) }
        }
        #expect(json.jsonLines.count == 4, "\(json.output)")
        #expect(Set(errors.keys) == Set(escaped.keys), "\(errors)")
        for (entry, message) in escaped {
            #expect(errors[entry]?.hasPrefix(entry + ": ") == true && errors[entry]?.contains(message) == true, "\(entry): \(errors[entry] ?? "no row")")
        }
        #expect(!json.output.contains("\u{FFFD}") && !json.output.contains("\\ufffd"), "\(json.output)")
        #expect(json.errors.contains(", 3 failed"), "\(json.errors)")

        // features: the same error row.
        let features = try Self.grainWithBytes([Array("features".utf8), Array("--weights".utf8), Array(weights.path.utf8),
                                                     Array("--json".utf8), badFile], in: folder)
        #expect(features.status == 1)
        #expect(features.jsonLines.count == 1 && (features.jsonLines.first?["error"] as? String)?.contains("not valid UTF-8") == true,
                "\(features.output) \(features.errors)")

        // Anywhere else (a detector, a file to inspect), refused before any work, named escaped.
        for arguments in [[Array("inspect".utf8), badFile], [Array("detect".utf8), Array("--detector".utf8), badFile, Array(good.utf8)]] {
            let refused = try Self.grainWithBytes(arguments, in: folder)
            #expect(refused.status != 0 && refused.output.isEmpty)
            #expect(refused.errors.contains("'\(folder.path)/bad-\\xff\\xfe.png' is not valid UTF-8"), "\(refused.errors)")
        }

        // A literal "\xff" beside the byte 0xFF would read the same: refused as ambiguous.
        let literal = Array((folder.path + "/folder-\\xff").utf8)
        let ambiguous = try Self.grainWithBytes([Array("detect".utf8), Array("--detector".utf8), Array(detector.path.utf8),
                                                      badFolder, literal], in: folder)
        #expect(ambiguous.status != 0 && ambiguous.errors.contains("read the same once escaped"), "\(ambiguous.errors)")
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
