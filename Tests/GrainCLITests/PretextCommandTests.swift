import Foundation
import Testing

/// `grain pretext build` refuses a crop size that is not a positive multiple of the model's size
/// multiple with a message naming the flag (a zero or negative size reached
/// `PretextDatasetBuilder`'s precondition before).
@Suite struct PretextCommandTests {
    @Test(.enabled(if: grainExecutable != nil, "the grain executable is not built next to the tests"),
          arguments: ["0", "-64"])
    func nonPositiveCropSizeIsAClearError(cropSize: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-pretext-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("photos"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tinySD = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("StableDiffusionTests/Fixtures/tiny-sd")
        let run = try grain(["pretext", "build", "--stable-diffusion", tinySD.path, "--photos", folder.appendingPathComponent("photos").path,
                             "--out", folder.appendingPathComponent("dataset").path, "--crop-size=\(cropSize)"], in: folder)
        #expect(run.status != 0)
        #expect(run.errors.contains("--crop-size \(cropSize) must be a positive multiple of"), "\(run.errors)")
    }
}
