import Foundation
import GrainTestSupport
import Imaging
import NN
import OneClass
import Tensor

/// Small, self-contained material for the detector tests: random extractor weights (so nothing
/// depends on ../shared), synthetic photographs-like images, and one detector fitted once.
enum DetectorFixture {
    /// A fresh temporary folder.
    static func temporaryFolder(_ label: String = "detector") -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Runs `body` with a fresh temporary folder, removed afterwards.
    static func withTemporaryFolder<R>(_ body: (URL) throws -> R) rethrows -> R {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        return try body(folder)
    }

    /// Random extractor weights (uniform ±0.2; LayerNorm scales near 1), seeded.
    static func randomWeights(seed: UInt64 = 11) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (index, (key, parameter)) in LowLevelFeatureExtractor().namedParameters().enumerated() {
            var value = randomTensor(parameter.shape, seed: seed &+ UInt64(index), lower: -0.2, upper: 0.2)
            if key.contains("group") && key.hasSuffix(".weight") && parameter.shape.count == 3 { value = value + 1 }
            result[key] = value
        }
        return result
    }

    /// Writes ``randomWeights(seed:)`` as a safetensors file.
    static func writeRandomWeights(to url: URL, seed: UInt64 = 11) throws {
        try SafeTensors.write(randomWeights(seed: seed), to: url)
    }

    /// A photograph-like RGB image: a smooth gradient whose direction depends on the seed, plus
    /// Gaussian sensor-like noise.
    static func syntheticImage(seed: UInt64, width: Int = 48, height: Int = 48) -> Image {
        var generator = RandomGenerator(seed: seed)
        let angle = generator.nextUnitDouble() * 2 * Double.pi
        let noise = 4 + 8 * generator.nextUnitDouble()
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let ramp = (cos(angle) * Double(x) + sin(angle) * Double(y)) * 2
                for c in 0..<3 {
                    let value = 100 + ramp + Double(c * 20) + noise * generator.nextStandardNormal()
                    pixels[(y * width + x) * 3 + c] = UInt8(max(0, min(255, value.rounded())))
                }
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// Writes `count` synthetic PNGs into `folder` and returns their URLs (sorted by name).
    @discardableResult
    static func writeSyntheticImages(count: Int, in folder: URL, seed: UInt64 = 100) throws -> [URL] {
        try (0..<count).map { index in
            let url = folder.appendingPathComponent(String(format: "real%02d.png", index))
            try syntheticImage(seed: seed &+ UInt64(index)).write(to: url)
            return url
        }
    }

    /// The configuration of the shared fit: 2 diagonal components, 2 crops of 32 px per image,
    /// a quarter of the images held out for calibration.
    static let configuration = Detector.FitConfiguration(
        componentCount: 2, covarianceType: .diagonal, thresholdRate: 0.0005,
        calibration: Detector.Calibration(fraction: 0.25, targetFalsePositiveRate: 0.1),
        crops: RandomCrops(count: 2, size: 32), seed: 7)

    /// A detector fitted once on 12 synthetic images with random weights, with the files it was
    /// fitted from (the folder is kept for the test run).
    static let fitted: (detector: Detector, images: [URL], weights: URL) = {
        let folder = temporaryFolder("fitted")
        let weights = folder.appendingPathComponent("random.safetensors")
        try! writeRandomWeights(to: weights)
        let images = try! writeSyntheticImages(count: 12, in: folder)
        let detector = try! Detector.fit(realImages: images, weights: [weights], configuration: configuration)
        return (detector, images, weights)
    }()
}

/// The bad-input folder of the must-show: every kind of file a batch meets in the wild.
enum BadInput {
    /// What each file should give: a verdict (with this many patches) or an error.
    enum Expectation: Equatable {
        case verdict(patches: Int)
        case error(String)
    }

    /// Writes the folder's files and returns name → expectation.
    static func write(in folder: URL) throws -> [String: Expectation] {
        var expected: [String: Expectation] = [:]
        func put(_ name: String, _ data: Data, _ expectation: Expectation) throws {
            try data.write(to: folder.appendingPathComponent(name))
            expected[name] = expectation
        }
        let good = DetectorFixture.syntheticImage(seed: 999, width: 40, height: 40)
        let jpeg = try good.encoded(as: .jpeg(quality: 90))
        try put("good.png", try good.encoded(as: .png), .verdict(patches: 4))
        try put("good.jpg", jpeg, .verdict(patches: 4))
        var generator = RandomGenerator(seed: 3)
        try put("corrupt.jpg", Data([0xFF, 0xD8, 0xFF] + (0..<400).map { _ in UInt8(truncatingIfNeeded: generator.next()) }),
                .error("corrupt"))
        try put("truncated.jpg", jpeg.prefix(jpeg.count / 2), .error("truncated"))
        try put("empty.png", Data(), .error("empty"))
        try put("notes.jpg", Data("This is a text file, not an image.\n".utf8), .error("text"))
        // RGBA: alpha dropped without compositing (as Pillow's convert("RGB")).
        var rgbaPixels: [UInt8] = []
        for (index, byte) in good.pixels.enumerated() {
            rgbaPixels.append(byte)
            if index % 3 == 2 { rgbaPixels.append(UInt8(index % 251)) }
        }
        try put("rgba.png", try Image(width: 40, height: 40, channels: 4, pixels: rgbaPixels).encoded(as: .png), .verdict(patches: 4))
        // 1×1: resized to 16×16 (bilinear) by the tokenizer, so one patch.
        try put("tiny.png", try Image(width: 1, height: 1, channels: 3, pixels: [200, 120, 40]).encoded(as: .png), .verdict(patches: 1))
        // 30,000 × 30,000 declared in the header: refused before any allocation.
        try put("huge.png", pngHeader(width: 30_000, height: 30_000), .error("pixels"))
        // CMYK JPEG and 16-bit PNG (committed, from Scripts/reference/bad_input_fixtures.py): converted as Pillow does.
        let fixtures = URL(fileURLWithPath: fixturesDirectory()).appendingPathComponent("bad-input")
        try put("cmyk.jpg", try Data(contentsOf: fixtures.appendingPathComponent("cmyk.jpg")), .verdict(patches: 12))
        try put("rgb16.png", try Data(contentsOf: fixtures.appendingPathComponent("rgb16.png")), .verdict(patches: 12))
        return expected
    }

    /// A PNG signature, an IHDR chunk declaring `width × height` 8-bit RGB, and a token IDAT.
    static func pngHeader(width: Int, height: Int) -> Data {
        func chunk(_ type: String, _ payload: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + payload
            return bigEndian(UInt32(payload.count)) + body + bigEndian(crc32(body))
        }
        let ihdr = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0]
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00]))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    /// CRC-32 (ISO 3309, as PNG uses), bit by bit.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
