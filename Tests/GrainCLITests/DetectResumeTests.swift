import Foundation
import Testing

/// `grain detect --json --skip-done FILE`: a killed run resumed ends with exactly one row per input.
@Suite("grain detect --skip-done", .enabled(if: grainExecutable != nil, "the grain executable is not built next to the tests: skipped"))
struct DetectResumeTests {
    /// A folder with a fitted one-component detector and `images/` holding four good images and two bad files.
    static func makeFolder() throws -> (folder: URL, detector: URL, images: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-resume-\(UUID().uuidString)")
        let real = folder.appendingPathComponent("real"), images = folder.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let weights = folder.appendingPathComponent("weights.safetensors")
        try writeRandomExtractorWeights(to: weights)
        for index in 0..<6 { try noisyImage(seed: UInt64(index)).write(to: real.appendingPathComponent("photo\(index).png")) }
        let detector = folder.appendingPathComponent("detector.safetensors")
        let fit = try grain(["fit", "--weights", weights.path, "--real", real.path, "--out", detector.path,
                             "--components", "1", "--covariance", "spherical", "--crop", "center", "--seed", "3"], in: folder)
        #expect(fit.status == 0, "\(fit.errors)")
        for index in 0..<4 { try noisyImage(seed: 100 + UInt64(index)).write(to: images.appendingPathComponent("good\(index).png")) }
        try Data().write(to: images.appendingPathComponent("empty.png"))
        try Data("not an image".utf8).write(to: images.appendingPathComponent("text.jpg"))
        return (folder, detector, images)
    }

    /// The rows of a results file, one string per line (the final newline excluded).
    static func lines(_ url: URL) throws -> [String] {
        String(decoding: try Data(contentsOf: url), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    /// The `path` of each row.
    static func paths(_ lines: [String]) -> [String] {
        lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["path"] as? String }
    }

    @Test func rowsGoToTheFileAndASecondRunSkipsThemAll() throws {
        let (folder, detector, images) = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let results = folder.appendingPathComponent("results.jsonl")
        let first = try grain(["detect", "--detector", detector.path, "--json", "--skip-done", results.path, images.path], in: folder)
        #expect(first.status == 1, "two bad files: exit code 1")
        #expect(first.output.isEmpty, "rows go to the results file, not to standard output")
        let rows = try Self.lines(results)
        #expect(rows.count == 6 && Set(Self.paths(rows)).count == 6)
        #expect(rows.filter { $0.contains("\"error\"") }.count == 2)
        // The same rows as a plain --json run prints.
        let plain = try grain(["detect", "--detector", detector.path, "--json", images.path], in: folder)
        #expect(plain.output == rows.map { $0 + "\n" }.joined())

        let before = try Data(contentsOf: results)
        let second = try grain(["detect", "--detector", detector.path, "--json", "--skip-done", results.path, images.path], in: folder)
        #expect(second.status == 0 && second.errors.contains("6 of 6 inputs already have a row"))
        #expect(try Data(contentsOf: results) == before, "nothing judged twice, nothing rewritten")
    }

    @Test func newInputsAreAppendedAfterTheRowsThatAreThere() throws {
        let (folder, detector, images) = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let results = folder.appendingPathComponent("results.jsonl")
        let good0 = images.appendingPathComponent("good0.png").path, good1 = images.appendingPathComponent("good1.png").path
        _ = try grain(["detect", "--detector", detector.path, "--json", "--skip-done", results.path, good0], in: folder)
        let firstRows = try Self.lines(results)
        #expect(Self.paths(firstRows) == [good0])
        // good0 listed again and twice more by its folder: still one row for it; good1 appended once.
        let run = try grain(["detect", "--detector", detector.path, "--json", "--skip-done", results.path,
                             good0, good1, good1, images.path], in: folder)
        #expect(run.status == 1 && run.errors.contains("2 of 9 inputs already have a row in \(results.path), 2 listed more than once; judging 5"), "\(run.errors)")
        let rows = try Self.lines(results)
        #expect(rows.first == firstRows.first, "the existing row is kept as it was")
        let paths = Self.paths(rows)
        #expect(paths.count == 6 && Set(paths).count == 6, "\(paths)")
        #expect(paths.prefix(2) == [good0, good1])
    }

    @Test func aPartialLastLineIsDroppedAndItsInputJudgedAgain() throws {
        let (folder, detector, images) = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let complete = folder.appendingPathComponent("complete.jsonl")
        _ = try grain(["detect", "--detector", detector.path, "--json", "--skip-done", complete.path, images.path], in: folder)
        let rows = try Self.lines(complete)
        #expect(rows.count == 6)
        // A killed writer: the last row cut in the middle, and (second case) whole but without its newline.
        for cut in [rows[5].count / 2, rows[5].count] {
            let results = folder.appendingPathComponent("killed-\(cut).jsonl")
            try Data((rows.prefix(5).map { $0 + "\n" }.joined() + rows[5].prefix(cut)).utf8).write(to: results)
            let run = try grain(["detect", "--detector", detector.path, "--json", "--skip-done", results.path, images.path], in: folder)
            #expect(run.errors.contains("dropped a partial last line (\(cut) bytes)"), "\(run.errors)")
            #expect(run.errors.contains("5 of 6 inputs already have a row"))
            #expect(try Data(contentsOf: results) == Data(contentsOf: complete), "exactly one row per input, as an uninterrupted run")
        }
    }

    @Test func aCorruptRowOrAMissingJSONFlagIsAClearError() throws {
        let (folder, detector, images) = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let results = folder.appendingPathComponent("results.jsonl")
        let original = "{\"path\":\"/a.png\",\"verdict\":\"real\"}\nnot json\n{\"path\":\"/b.png\"}\n"
        try Data(original.utf8).write(to: results)
        let corrupt = try grain(["detect", "--detector", detector.path, "--json", "--skip-done", results.path, images.path], in: folder)
        #expect(corrupt.status != 0 && corrupt.errors.contains("\(results.path):2: not a results row"), "\(corrupt.errors)")
        #expect(String(decoding: try Data(contentsOf: results), as: UTF8.self) == original, "a corrupt file is left as it was")

        let text = try grain(["detect", "--detector", detector.path, "--skip-done", results.path, images.path], in: folder)
        #expect(text.status != 0 && text.errors.contains("--skip-done needs --json"))
    }
}
