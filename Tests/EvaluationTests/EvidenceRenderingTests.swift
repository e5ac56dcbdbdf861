import Foundation
import Imaging
import Evaluation
import OneClass
import Testing

/// `EvidenceMap.rendered(over:maximumWidth:)`: size, colours on each side of the threshold, the
/// unscored border, the PNG round trip and refusals.
@Suite("Evidence map rendering")
struct EvidenceRenderingTests {
    /// A hand-made map of a `width × height` image: a 2×2 grid of 64-px windows (4 patches, no
    /// overlap) whose margins are given, the grid at `(8, 8)`.
    static func map(width: Int, height: Int, margins: [Double]) throws -> EvidenceMap {
        let configuration = try EvidenceConfiguration(windowPatches: 4, stridePatches: 4)
        let windows = [(0, 0), (0, 4), (4, 0), (4, 4)].enumerated().map { index, origin in
            EvidenceMap.Window(row: origin.0, column: origin.1,
                               rectangle: EvidenceMap.Rectangle(x: 8 + 16 * origin.1, y: 8 + 16 * origin.0, width: 64, height: 64),
                               logLikelihoods: [margins[index] + 10], margin: margins[index])
        }
        return EvidenceMap(imageWidth: width, imageHeight: height, cropMode: .centered,
                           grid: EvidenceMap.Rectangle(x: 8, y: 8, width: 128, height: 128), gridRows: 8, gridColumns: 8,
                           patchSize: 16, configuration: configuration, thresholds: [10],
                           image: Detector.Verdict(logLikelihoods: [5], thresholds: [10], patchCount: 64), windows: windows)
    }

    @Test func blueAboveRedBelowDarkOutside() throws {
        let image = Image(width: 144, height: 144, channels: 3, repeating: 128)
        let map = try Self.map(width: 144, height: 144, margins: [40, 0, -20, -5])
        #expect(map.patchMargins()[0] == 40 && map.patchMargins()[63] == -5)
        let picture = try map.rendered(over: image)
        // At least 640 px wide for the legend, the image centred; a legend of 96 px plus 20 per caption line (3 or more) below.
        #expect(picture.width == 640 && (picture.height - 144 - 96) % 20 == 0 && picture.height - 144 - 96 >= 60)
        let left = (640 - 144) / 2
        func pixel(_ x: Int, _ y: Int) -> [Int] { (0..<3).map { Int(picture[x: left + x, y: y, channel: $0]) } }
        let typical = pixel(30, 30), neutral = pixel(100, 30), atypical = pixel(30, 100), outside = pixel(2, 2)
        #expect(typical[2] > typical[0] + 50)        // blue
        #expect(atypical[0] > atypical[2] + 50)      // red
        #expect(abs(neutral[0] - neutral[2]) <= 2 && neutral[0] > 128)   // near white over grey
        #expect(outside == [45, 45, 45])             // 128 · 0.35, not scored
        // The weaker negative margin is paler than the strongest one.
        let weak = pixel(100, 100)
        #expect(weak[0] > weak[2] && weak[1] > atypical[1])
    }

    @Test func wideImagesAreDownscaledAndThePNGDecodes() throws {
        let image = Image(width: 2048, height: 1000, channels: 3, repeating: 90)
        let map = try Self.map(width: 2048, height: 1000, margins: [1, 2, 3, 4])
        let picture = try map.rendered(over: image)
        #expect(picture.width == 1024 && (picture.height - 500 - 96) % 20 == 0)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-evidence-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("map.png")
        try picture.write(to: url, as: .png)
        let decoded = try Image(contentsOf: url)
        #expect(decoded.width == 1024 && decoded.height == picture.height && decoded == picture)
        #expect(try map.rendered(over: image, maximumWidth: 512).width == 640)
    }

    @Test func anotherImageOrAnAbsurdWidthIsRefused() throws {
        let map = try Self.map(width: 144, height: 144, margins: [1, 2, 3, 4])
        #expect(throws: EvidenceError.imageSizeMismatch(expectedWidth: 144, expectedHeight: 144, width: 100, height: 144)) {
            try map.rendered(over: Image(width: 100, height: 144, channels: 3))
        }
        #expect(throws: EvidenceError.self) { try map.rendered(over: Image(width: 144, height: 144, channels: 3), maximumWidth: 10) }
    }
}
