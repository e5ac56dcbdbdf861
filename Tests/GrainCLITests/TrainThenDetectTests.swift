import Foundation
import Testing

/// The repository's root folder.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The Examples/TrainThenDetect executable, built (release) on first use with `swift build
/// --package-path Examples/TrainThenDetect`, so that the example's tests always run the current
/// sources, in CI too. The build is incremental: a second `swift test` reuses it.
let trainThenDetectExecutable: Result<URL, ExampleBuildError> = {
    let package = repositoryRoot.appendingPathComponent("Examples/TrainThenDetect")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("train-then-detect-build-\(UUID().uuidString)")
    do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let build = try runProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                   ["swift", "build", "-c", "release", "--package-path", package.path, "--product", "train-then-detect"],
                                   in: folder)
        guard build.status == 0 else {
            return .failure(ExampleBuildError(message: "swift build --package-path \(package.path) exited with \(build.status):\n"
                                                  + build.output.suffix(2000) + build.errors.suffix(2000)))
        }
    } catch {
        return .failure(ExampleBuildError(message: "could not run swift build for \(package.path): \(error)"))
    }
    return .success(package.appendingPathComponent(".build/release/train-then-detect"))
}()

/// Why the example could not be built.
struct ExampleBuildError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The tables README.md quotes from a file: each ```` ``` ```` block that follows a line
/// `<!-- train-then-detect-table: PATH -->`, with PATH relative to the repository root.
func readmeTables() throws -> [(path: String, block: String)] {
    let lines = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var tables: [(String, String)] = []
    let marker = "<!-- train-then-detect-table: "
    for (index, line) in lines.enumerated() where line.hasPrefix(marker) && line.hasSuffix(" -->") {
        let path = String(line.dropFirst(marker.count).dropLast(" -->".count))
        guard index + 1 < lines.count, lines[index + 1].hasPrefix("```"),
              let end = lines[(index + 2)...].firstIndex(where: { $0.hasPrefix("```") }) else {
            throw ExampleBuildError(message: "README.md line \(index + 1): \(marker)\(path) --> is not followed by a ``` block")
        }
        tables.append((path, lines[(index + 2)..<end].map { $0 + "\n" }.joined()))
    }
    return tables
}

/// Both texts, for a failure message.
func difference(_ quoted: String, _ printed: String) -> String {
    "README.md quotes:\n\(quoted)\nbut the example prints:\n\(printed)"
}

/// The example end to end: its tables in README.md are what it prints, and its stages are cached.
@Suite("train-then-detect example")
struct TrainThenDetectTests {
    /// Every table README.md quotes from a file under Documentation/Results/train-then-detect is
    /// that file (written by `--write-readme-table`: the CI configuration by the test below, the
    /// main run's seeds by Scripts/train-then-detect-tables.sh).
    @Test func readmeQuotesTheCommittedTables() throws {
        let tables = try readmeTables()
        #expect(Set(tables.map(\.path)).isSuperset(of: ["Documentation/Results/train-then-detect/seed-0.txt",
                                                         "Documentation/Results/train-then-detect/quick.txt"]))
        for (path, block) in tables {
            let url = repositoryRoot.appendingPathComponent(path)
            try #require(FileManager.default.fileExists(atPath: url.path),
                         "README.md quotes \(path), which does not exist: run Scripts/train-then-detect-tables.sh")
            let file = try String(contentsOf: url, encoding: .utf8)
            #expect(block == file, "\(path): \(difference(block, file))")
        }
    }

    /// The CI configuration (`--quick`, on the Debian packages' photos, seed 0) prints exactly the
    /// table README.md quotes for it. It needs apt-get (Scripts/setup.sh makes sure the package
    /// lists know the two photo packages) and fetches the photos into the usual cache on first use.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-get"), "no apt-get: the Debian photos cannot be fetched"))
    func quickRunPrintsTheReadmeTable() throws {
        let executable = try trainThenDetectExecutable.get()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("train-then-detect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let written = folder.appendingPathComponent("quick.txt")
        let run = try runProcess(executable, ["--quick", "--out", folder.appendingPathComponent("out").path,
                                              "--write-readme-table", written.path], in: folder)
        try #require(run.status == 0, "\(run.errors)")
        #expect(try String(contentsOf: written, encoding: .utf8) == run.output, "the file holds what standard output got")
        let path = "Documentation/Results/train-then-detect/quick.txt"
        let quoted = try #require(try readmeTables().first { $0.path == path }, "README.md has no table from \(path)").block
        #expect(quoted == run.output, "\(difference(quoted, run.output))\nRegenerate: Scripts/train-then-detect-tables.sh --quick")
    }

    /// The `--quick` configuration on made-up photos: every stage runs, the table, the
    /// extractor's accuracy and the report come out, and a second run reuses the cached stages.
    @Test func quickRunPrintsTheTableAndReusesItsStages() throws {
        let executable = try trainThenDetectExecutable.get()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("train-then-detect-\(UUID().uuidString)")
        let photos = folder.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for index in 0..<5 {
            try noisyImage(seed: UInt64(index), width: 80, height: 72).write(to: photos.appendingPathComponent("photo\(index).png"))
        }
        func run() throws -> Run {
            try runProcess(executable, ["--quick", "--photos", photos.path, "--out", folder.appendingPathComponent("out").path],
                           in: folder)
        }
        let first = try run()
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.output.contains("AUC") && first.output.contains("generated from noise (DDIM)")
                && first.output.contains("VAE reconstructions") && first.output.contains("held-out real (test)"))
        #expect(first.output.contains("held-out 11-class accuracy") && first.output.contains("per class: original "))
        let report = folder.appendingPathComponent("out/seed-0-quick/report/trained")
        for file in ["metrics.json", "per_generator.csv", "histogram.svg", "roc.png", "detector.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: report.appendingPathComponent(file).path), "\(file)")
        }
        let second = try run()
        #expect(second.status == 0, "\(second.errors)")
        #expect(second.errors.contains("3. extractor: reusing"))
        #expect(second.output == first.output, "deterministic for a seed")
    }

    /// A sizes file with a field out of range is refused with an error naming the file and the field.
    @Test func badSizesFileIsReported() throws {
        let executable = try trainThenDetectExecutable.get()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("train-then-detect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let sizes = folder.appendingPathComponent("sizes.json")
        let quick = try runProcess(executable, ["--quick", "--photos", folder.path, "--out", folder.appendingPathComponent("out").path],
                                   in: folder)
        #expect(quick.status != 0)  // no photos in the folder: it stops, but only after writing sizes.json
        var fields = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("out/seed-0-quick/sizes.json"))) as? [String: Any])
        fields["extractorCrop"] = 20
        try JSONSerialization.data(withJSONObject: fields).write(to: sizes)
        let run = try runProcess(executable, ["--sizes", sizes.path], in: folder)
        #expect(run.status == 1)
        #expect(run.errors.contains(sizes.path) && run.errors.contains("extractorCrop is 20; it must be a multiple of 16"), "\(run.errors)")
    }
}
