import Foundation
import Imaging
import NN
import OneClass
import Tensor
import Testing

/// `Detector.evidence`: window geometry, exactness against scoring the crop alone, a pasted
/// region of other statistics, and every refusal.
@Suite("Evidence maps")
struct EvidenceTests {
    /// A detector fitted on noisy synthetic photographs with 64-px crops (the window size used
    /// below), one diagonal component, random extractor weights.
    static let noisyDetector: Detector = {
        let folder = DetectorFixture.temporaryFolder("evidence")
        let weights = folder.appendingPathComponent("random.safetensors")
        try! DetectorFixture.writeRandomWeights(to: weights)
        let images = try! (0..<16).map { index -> URL in
            let url = folder.appendingPathComponent("real\(index).png")
            try DetectorFixture.syntheticImage(seed: 300 &+ UInt64(index), width: 96, height: 96).write(to: url)
            return url
        }
        let configuration = Detector.FitConfiguration(componentCount: 1, covarianceType: .diagonal, regularization: 1e-3,
                                                      crops: RandomCrops(count: 4, size: 64), seed: 5)
        return try! Detector.fit(realImages: images, weights: [weights], configuration: configuration)
    }()

    @Test func windowsCoverTheGridAsDocumented() throws {
        // 200×150: a centred grid of 9 rows × 12 columns at (4, 3); window 4, stride 3.
        let image = DetectorFixture.syntheticImage(seed: 1, width: 200, height: 150)
        let configuration = try EvidenceConfiguration(windowPatches: 4, stridePatches: 3)
        #expect(configuration.origins(extent: 9) == [0, 3, 5])
        #expect(configuration.origins(extent: 12) == [0, 3, 6, 8])
        #expect(configuration.origins(extent: 4) == [0])
        #expect(configuration.origins(extent: 3) == [])
        let map = try DetectorFixture.fitted.detector.evidence(image, configuration: configuration)
        #expect(map.gridRows == 9 && map.gridColumns == 12)
        #expect(map.grid == EvidenceMap.Rectangle(x: 4, y: 3, width: 192, height: 144))
        #expect(map.windows.count == 12)
        let expected = [0, 3, 5].flatMap { row in [0, 3, 6, 8].map { (row, $0) } }
        #expect(map.windows.map(\.row) == expected.map(\.0))
        #expect(map.windows.map(\.column) == expected.map(\.1))
        for window in map.windows {
            #expect(window.rectangle == EvidenceMap.Rectangle(x: 4 + 16 * window.column, y: 3 + 16 * window.row, width: 64, height: 64))
            #expect(window.rectangle.x >= 0 && window.rectangle.y >= 0
                    && window.rectangle.x + 64 <= 200 && window.rectangle.y + 64 <= 150)
            #expect(window.logLikelihoods.count == 1)
            #expect(window.margin == window.logLikelihoods[0] - map.thresholds[0])
        }
        // Every patch covered: no NaN in the per-patch means; the corner patch by one window only.
        let patchMargins = map.patchMargins()
        #expect(patchMargins.count == 9 * 12 && patchMargins.allSatisfy(\.isFinite))
        #expect(patchMargins[0] == map.windows[0].margin)
        // The whole image as `detect` judges it.
        #expect(map.image == (try DetectorFixture.fitted.detector.detect(image)))
        #expect(map.imageMargin == map.image.logLikelihoods[0] - map.thresholds[0])
    }

    @Test func aWindowScoresAsItsCropAlone() throws {
        let detector = DetectorFixture.fitted.detector
        let image = DetectorFixture.syntheticImage(seed: 2, width: 150, height: 118)
        let map = try detector.evidence(image, configuration: try EvidenceConfiguration(windowPatches: 3, stridePatches: 2, batchSize: 5))
        #expect(map.windows.count == 3 * 4)   // grid 7 × 9: rows 0, 2, 4; columns 0, 2, 4, 6
        var largest = 0.0
        for window in map.windows {
            let r = window.rectangle
            let crop = image.cropped(x: r.x, y: r.y, width: r.width, height: r.height)
            let direct = try detector.logLikelihoods(features: detector.features(tokens: detector.tokenizer.tokens(crop)))[0]
            #expect(try detector.score(crop) == direct)
            for (a, b) in zip(window.logLikelihoods, direct) {
                largest = max(largest, abs(a - b) / max(1, abs(b)))
            }
        }
        print("evidence vs crop scored alone: largest relative difference \(largest)")
        #expect(largest <= 1e-5)
    }

    @Test func aPastedSmoothRegionScoresLowest() throws {
        // A noisy 192×192 image (12×12 patches) with a flat 64×64 square over patches 4..<8. The
        // ramp clips at the far edges, and clipped (flat) areas are atypical too, so only the
        // lowest window and the window inside the square are asserted.
        var image = DetectorFixture.syntheticImage(seed: 900, width: 192, height: 192)
        for y in 64..<128 { for x in 64..<128 { for c in 0..<3 { image[x: x, y: y, channel: c] = UInt8(110 + 20 * c) } } }
        let map = try Self.noisyDetector.evidence(image, configuration: try EvidenceConfiguration(windowPatches: 4, stridePatches: 2))
        #expect(map.windows.count == 25)
        func overlaps(_ window: EvidenceMap.Window) -> Bool {
            window.row < 8 && window.row + 4 > 4 && window.column < 8 && window.column + 4 > 4
        }
        let sorted = map.windows.sorted { $0.margin < $1.margin }
        print("pasted region: margins low to high", sorted.map { "(\($0.row),\($0.column)) \(Int($0.margin))" })
        #expect(overlaps(sorted[0]))
        let inside = try #require(map.windows.first(where: { $0.row == 4 && $0.column == 4 }))
        let outside = map.windows.filter { !overlaps($0) }
        #expect(outside.count == 16)
        #expect(outside.allSatisfy { $0.margin > inside.margin })
    }

    @Test func badConfigurationsAndImagesAreRefusedWithReasons() throws {
        #expect(throws: EvidenceError.self) { try EvidenceConfiguration(windowPatches: 0) }
        #expect(throws: EvidenceError.self) { try EvidenceConfiguration(windowPatches: 4, stridePatches: 0) }
        #expect(throws: EvidenceError.self) { try EvidenceConfiguration(windowPatches: 4, stridePatches: 5) }
        #expect(throws: EvidenceError.self) { try EvidenceConfiguration(maximumWindows: 0) }
        #expect(throws: EvidenceError.self) { try EvidenceConfiguration(batchSize: 0) }
        let invalid = Data(#"{"windowPatches": 4, "stridePatches": 9, "maximumWindows": 10, "batchSize": 1}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(EvidenceConfiguration.self, from: invalid) }
        let valid = try EvidenceConfiguration(windowPatches: 5, stridePatches: 2, maximumWindows: 10, batchSize: 3)
        #expect(try JSONDecoder().decode(EvidenceConfiguration.self, from: try JSONEncoder().encode(valid)) == valid)

        let detector = DetectorFixture.fitted.detector
        // 100×100: a 6×6 grid, too small for the default 8×8 window; the message suggests 6.
        do throws(EvidenceError) {
            _ = try detector.evidence(DetectorFixture.syntheticImage(seed: 3, width: 100, height: 100), path: "small.png")
            Issue.record("expected imageTooSmall")
        } catch {
            #expect(error == .imageTooSmall(path: "small.png", width: 100, height: 100, rows: 6, columns: 6, windowPatches: 8))
            #expect(error.description.contains("small.png") && error.description.contains("--window 6"))
        }
        // Under one patch: nothing to map, even with a 1-patch window.
        #expect(throws: EvidenceError.imageTooSmall(path: "<memory>", width: 10, height: 40, rows: 0, columns: 0, windowPatches: 1)) {
            try detector.evidence(DetectorFixture.syntheticImage(seed: 4, width: 10, height: 40),
                                  configuration: try EvidenceConfiguration(windowPatches: 1, stridePatches: 1))
        }
        // 25 windows over a limit of 3: refused before any extractor pass, the limit named.
        do throws(EvidenceError) {
            _ = try detector.evidence(DetectorFixture.syntheticImage(seed: 5, width: 192, height: 192),
                                      configuration: try EvidenceConfiguration(windowPatches: 4, stridePatches: 2, maximumWindows: 3))
            Issue.record("expected tooManyWindows")
        } catch {
            #expect(error == .tooManyWindows(path: "<memory>", count: 25, limit: 3))
            #expect(error.description.contains("3") && error.description.contains("--max-windows"))
        }
        // A window over the tokenizer's cap of 19,200 patches.
        #expect(throws: EvidenceError.windowOverPatchCap(windowPatches: 139, maximumPatches: 19_200)) {
            try detector.evidence(DetectorFixture.syntheticImage(seed: 6, width: 32, height: 32),
                                  configuration: try EvidenceConfiguration(windowPatches: 139, stridePatches: 1))
        }
        // An unreadable file: the detector's error, naming it.
        let missing = URL(fileURLWithPath: "/nonexistent/photo.png")
        do throws(EvidenceError) {
            _ = try detector.evidence(contentsOf: missing)
            Issue.record("expected a decoding error")
        } catch {
            guard case .detector(.image) = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.description.contains("/nonexistent/photo.png"))
        }
    }

    @Test func theMapRoundTripsThroughJSON() throws {
        let map = try DetectorFixture.fitted.detector.evidence(DetectorFixture.syntheticImage(seed: 7, width: 96, height: 80),
                                                              configuration: try EvidenceConfiguration(windowPatches: 3, stridePatches: 3))
        let decoded = try JSONDecoder().decode(EvidenceMap.self, from: try JSONEncoder().encode(map))
        #expect(decoded == map)
        #expect(map.windows.count == 2 * 2)   // grid 5 × 6: rows 0, 2; columns 0, 3
    }
}
