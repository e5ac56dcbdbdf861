import Foundation
import Imaging

/// Where the test inputs live: Fixtures/ beside this file (committed: Pillow's references and
/// small synthetic images made by Scripts/reference/imaging_fixtures.py) and the dev set in
/// ../shared/data/dev next to the repository (never committed; tests using it are skipped when it
/// is absent).
enum Fixtures {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let directory = testsDirectory.appendingPathComponent("Fixtures")
    static let devSet = testsDirectory.appendingPathComponent("../../../shared/data/dev").standardizedFileURL

    /// The file a fixture names: `dev:<path>` in the dev set, anything else under Fixtures/.
    static func url(_ file: String) -> URL {
        if file.hasPrefix("dev:") { return devSet.appendingPathComponent(String(file.dropFirst(4))) }
        return directory.appendingPathComponent(file)
    }

    /// Decodes Fixtures/`name` as JSON.
    static func load<T: Decodable>(_ name: String, as type: T.Type) -> T {
        let url = directory.appendingPathComponent(name)
        do {
            return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot load fixture \(url.path): \(error)")
        }
    }

    static let decode = load("decode.json", as: DecodeFixtures.self)
    static let resize = load("resize.json", as: ResizeFixtures.self)
    static let encode = load("encode.json", as: EncodeFixtures.self)
}

/// True when the dev set is present next to the repository.
let devSetAvailable = FileManager.default.fileExists(atPath: Fixtures.devSet.appendingPathComponent("manifest.csv").path)

/// Pillow's view of one decoded (or resized) image.
struct ImageFixture: Decodable, Sendable, CustomStringConvertible {
    var file: String
    var filter: String?
    var width: Int
    var height: Int
    var sha256: String
    /// RGB bytes at the grid of ``samplePositions(_:count:)`` (row by row).
    var samples: String

    var description: String { filter.map { "\(file) \($0) \(width)×\(height)" } ?? file }

    /// The grid size the samples were taken on.
    var gridCount: Int {
        let bytes = Data(base64Encoded: samples)?.count ?? 0
        return Int(Double(bytes / 3).squareRoot().rounded())
    }
}

struct DecodeFixtures: Decodable, Sendable {
    var provenance: [String: String?]
    var images: [ImageFixture]
}

struct ResizeFixtures: Decodable, Sendable {
    var provenance: [String: String?]
    var cases: [ImageFixture]
}

struct EncodeFixture: Decodable, Sendable, CustomStringConvertible {
    var file: String
    var quality: Int
    var subsampling: Int
    var length: Int
    var sha256: String
    var description: String { "\(file) q=\(quality) subsampling=\(subsampling)" }
}

struct EncodeFixtures: Decodable, Sendable {
    var provenance: [String: String?]
    var cases: [EncodeFixture]
}

/// Evenly spread positions over `0..<size`, as the fixture script's `grid`.
func samplePositions(_ size: Int, count: Int) -> [Int] {
    (0..<count).map { i in (i * (size - 1)) / max(count - 1, 1) }
}

/// How an image compares with Pillow's: bit-exact (same SHA-256), or the largest absolute
/// difference over the sampled grid (a lower bound on the true maximum).
struct Parity: CustomStringConvertible {
    var exact: Bool
    var sizeMatches: Bool
    var maxSampledDifference: Int

    init(_ image: Image, _ fixture: ImageFixture) {
        sizeMatches = image.width == fixture.width && image.height == fixture.height && image.channels == 3
        exact = sizeMatches && image.pixelDigest == fixture.sha256
        maxSampledDifference = 0
        if sizeMatches && !exact, let expected = Data(base64Encoded: fixture.samples) {
            let count = fixture.gridCount
            let xs = samplePositions(image.width, count: count), ys = samplePositions(image.height, count: count)
            var index = 0
            for y in ys {
                for x in xs {
                    for c in 0..<3 {
                        let difference = abs(Int(image[x: x, y: y, channel: c]) - Int(expected[expected.startIndex + index]))
                        maxSampledDifference = max(maxSampledDifference, difference)
                        index += 1
                    }
                }
            }
        }
    }

    var description: String {
        if !sizeMatches { return "size differs" }
        return exact ? "bit-exact" : "differs (max sampled |Δ| = \(maxSampledDifference))"
    }
}

/// A deterministic byte generator for the malformed-input tests (SplitMix64).
struct ByteNoise {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ count: Int) -> Data { Data((0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }) }
}
