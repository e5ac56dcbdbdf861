import Foundation
import GrainTestSupport
import Imaging
import NN
import Tensor
import Testing

/// `grain explain` as a script would run it: JSON map, text summary, the PNG, and refusals.
@Suite("grain explain", .enabled(if: grainExecutable != nil, "the grain executable is not built next to the tests: skipped"))
struct ExplainCommandTests {
    @Test func explainWritesTheMapAndPrintsIt() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-explain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("real"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = folder.appendingPathComponent("weights.safetensors")
        try writeRandomExtractorWeights(to: weights)
        for index in 0..<8 {
            try noisyImage(seed: UInt64(index), width: 64, height: 64).write(to: folder.appendingPathComponent("real/photo\(index).png"))
        }
        let detector = folder.appendingPathComponent("detector.safetensors")
        let fit = try grain(["fit", "--weights", weights.path, "--real", folder.appendingPathComponent("real").path,
                             "--out", detector.path, "--components", "1", "--covariance", "spherical",
                             "--calibrate", "0.25", "--target-fpr", "0.5", "--crop", "center", "--seed", "3"], in: folder)
        try #require(fit.status == 0, "\(fit.errors)")

        // 160×96: a 6×10 grid; window 4, stride 2 → rows 0, 2; columns 0, 2, 4, 6 → 8 windows.
        let image = folder.appendingPathComponent("image.png")
        try noisyImage(seed: 77, width: 160, height: 96).write(to: image)
        let png = folder.appendingPathComponent("map.png")
        let json = try grain(["explain", image.path, "--detector", detector.path, "--out", png.path,
                              "--window", "4", "--stride", "2", "--json"], in: folder)
        #expect(json.status == 0, "\(json.errors)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let windows = try #require(object["windows"] as? [[String: Any]])
        #expect(windows.count == 8)
        #expect(object["gridRows"] as? Int == 6 && object["gridColumns"] as? Int == 10)
        #expect((windows.first?["rectangle"] as? [String: Int]) == ["x": 0, "y": 0, "width": 64, "height": 64])
        #expect(windows.allSatisfy { $0["margin"] is Double && ($0["logLikelihoods"] as? [Double])?.count == 1 })
        #expect((object["image"] as? [String: Any])?["isGenerated"] is Bool)
        let picture = try Image(contentsOf: png)
        #expect(picture.width == 640 && (picture.height - 96 - 96) % 20 == 0)

        // Text summary.
        let text = try grain(["explain", image.path, "--detector", detector.path, "--out", png.path,
                              "--window", "4", "--stride", "2"], in: folder)
        #expect(text.status == 0, "\(text.errors)")
        #expect(text.output.contains("8 windows of 64 px, stride 32 px, on a 6×10 patch grid"))
        #expect(text.output.contains("least typical regions:") && text.output.contains("not a segmentation"))

        // Refusals: too small for the default window, a stride over the window, a non-PNG output.
        let small = try grain(["explain", image.path, "--detector", detector.path, "--out", png.path], in: folder)
        #expect(small.status != 0 && small.errors.contains("too small") && small.errors.contains("--window 6"))
        let stride = try grain(["explain", image.path, "--detector", detector.path, "--out", png.path,
                                "--window", "4", "--stride", "5"], in: folder)
        #expect(stride.status != 0 && stride.errors.contains("stride 5"))
        let jpeg = try grain(["explain", image.path, "--detector", detector.path, "--out", folder.appendingPathComponent("map.jpg").path],
                             in: folder)
        #expect(jpeg.status != 0 && jpeg.errors.contains(".png"))
    }
}
