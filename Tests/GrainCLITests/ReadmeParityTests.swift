import Foundation
import GrainTestSupport
import Testing

/// README.md quotes what `grain parity` prints; this runs it and compares. On the kernel level and
/// OpenBLAS core the README names, the table must match line for line (only the seconds of the
/// last line may differ): the summation order, and so every printed digit, is fixed there. On
/// other kernels the last digits may move, so only the images, their patch counts and the bound
/// are compared.
@Suite("README's grain parity block",
       .enabled(if: grainExecutable != nil, "the grain executable is not built next to the tests: skipped"),
       .enabled(if: SharedData.exists("fixtures/beyond-generation/basic_features.safetensors")
                    && SharedData.exists("weights/beyond-generation/basic.pth"),
                "../shared has no parity fixtures or basic weights: skipped"))
struct ReadmeParityTests {
    /// The quoted block (the first ``` block after the `grain parity` bullet) and the kernels and
    /// OpenBLAS core the README says it was taken with.
    static func quoted() throws -> (lines: [String], kernels: String, core: String) {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let bullet = try #require(lines.firstIndex { $0.contains("`swift run -c release grain parity`") }, "README.md has no grain parity bullet")
        let open = try #require(lines[bullet...].firstIndex { $0.trimmingCharacters(in: .whitespaces) == "```" })
        let close = try #require(lines[(open + 1)...].firstIndex { $0.trimmingCharacters(in: .whitespaces) == "```" })
        let intro = lines[bullet..<open].joined(separator: " ")
        let match = try #require(intro.firstMatch(of: /kernels (\w+), OpenBLAS core (\w+)/), "the parity bullet names no kernels and core")
        return (lines[(open + 1)..<close].map { $0.trimmingCharacters(in: .whitespaces) }, String(match.1), String(match.2))
    }

    /// The lines of a table without the seconds of the summary line.
    static func withoutSeconds(_ lines: [String]) -> [String] {
        lines.map { $0.replacing(#/ in [0-9.]+ s /#, with: " in … s ") }
    }

    @Test func theQuotedBlockIsWhatParityPrints() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("readme-parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (quoted, kernels, core) = try Self.quoted()
        let runtime = try grain(["runtime"], in: folder)
        let machine = try #require(runtime.jsonLines.first)
        let run = try grain(["parity", "--shared", SharedData.root], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        let printed = run.errors.replacingOccurrences(of: "\r", with: "\n").components(separatedBy: "\n")
            .filter { !$0.isEmpty && !$0.hasPrefix("[") }
        print("[readme parity] README: kernels \(kernels), core \(core); here: kernels \(machine["kernels"] ?? "?"), core \(machine["openblas_core"] ?? "?")")
        if machine["kernels"] as? String == kernels && machine["openblas_core"] as? String == core {
            #expect(Self.withoutSeconds(printed) == Self.withoutSeconds(quoted),
                    "README.md quotes:\n\(quoted.joined(separator: "\n"))\nbut grain parity prints:\n\(printed.joined(separator: "\n"))")
        } else {
            // Other kernels: the images, their patch counts and the summary's image count.
            func skeleton(_ lines: [String]) -> [String] {
                lines.map { line in
                    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                    if line.hasPrefix("worst") { return [0, 1, 2, 4, 5, 6].map { String(fields[$0]) }.joined(separator: " ") }
                    return fields.prefix(2).joined(separator: " ")
                }
            }
            #expect(skeleton(printed) == skeleton(quoted), "README.md quotes:\n\(quoted.joined(separator: "\n"))\nbut grain parity prints:\n\(printed.joined(separator: "\n"))")
        }
    }
}
