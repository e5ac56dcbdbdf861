import Foundation
import Testing
@testable import Imaging

/// Decoding equals Pillow's `Image.open(p).convert("RGB")`, byte for byte.
@Suite("Decoding parity with Pillow")
struct DecodingParityTests {
    static let synthetic = Fixtures.decode.images.filter { !$0.file.hasPrefix("dev:") }
    static let dev = Fixtures.decode.images.filter { $0.file.hasPrefix("dev:") }

    @Test("synthetic PNG/JPEG variants decode bit-exactly", arguments: synthetic)
    func syntheticImage(_ fixture: ImageFixture) throws {
        let image = try Image(contentsOf: Fixtures.url(fixture.file))
        let parity = Parity(image, fixture)
        #expect(parity.exact, "\(fixture.file): \(parity)")
    }

    @Test("dev-set files decode bit-exactly", .enabled(if: devSetAvailable, "../shared/data/dev is absent"))
    func devSet() throws {
        #expect(!Self.dev.isEmpty, "decode.json holds no dev-set entries: rerun Scripts/reference/imaging_fixtures.py")
        var exact = 0
        var worst = 0
        for fixture in Self.dev {
            let image = try Image(contentsOf: Fixtures.url(fixture.file))
            let parity = Parity(image, fixture)
            if parity.exact { exact += 1 }
            worst = max(worst, parity.maxSampledDifference)
            #expect(parity.exact, "\(fixture.file): \(parity)")
        }
        print("Imaging parity: \(exact)/\(Self.dev.count) dev-set files decode bit-exactly as Pillow "
              + "\(Fixtures.decode.provenance["pillow"].flatMap { $0 } ?? "?"); worst sampled |Δ| = \(worst)")
    }

    /// Every file of the dev set, against fixtures written by
    /// `imaging_fixtures.py --all-dev FILE` (outside the repository) and named by
    /// GRAIN_DEV_PARITY_FIXTURES; skipped otherwise.
    @Test("whole dev set against --all-dev fixtures",
          .enabled(if: ProcessInfo.processInfo.environment["GRAIN_DEV_PARITY_FIXTURES"] != nil && devSetAvailable,
                   "GRAIN_DEV_PARITY_FIXTURES is not set"))
    func devSetParityReport() throws {
        let path = ProcessInfo.processInfo.environment["GRAIN_DEV_PARITY_FIXTURES"]!
        let fixtures = try JSONDecoder().decode(DecodeFixtures.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        var exact = 0
        var worst = 0
        var mismatches: [String] = []
        for fixture in fixtures.images {
            let image = try Image(contentsOf: Fixtures.url(fixture.file))
            let parity = Parity(image, fixture)
            if parity.exact { exact += 1 } else { mismatches.append("\(fixture.file): \(parity)") }
            worst = max(worst, parity.maxSampledDifference)
        }
        print("Imaging parity (whole dev set): \(exact)/\(fixtures.images.count) bit-exact; worst sampled |Δ| = \(worst)")
        for line in mismatches { print("  \(line)") }
        #expect(mismatches.isEmpty)
    }

    @Test("header reports format, size, components, progression and PNG colour type")
    func header() throws {
        let jpeg = try Image.header(of: Data(contentsOf: Fixtures.url("synthetic/q80_420_progressive.jpg")))
        #expect(jpeg == ImageHeader(format: .jpeg, width: 61, height: 45, components: 3, bitDepth: 8, isProgressive: true))
        let cmyk = try Image.header(of: Data(contentsOf: Fixtures.url("synthetic/cmyk_q90.jpg")))
        #expect(cmyk.components == 4)
        let png = try Image.header(of: Data(contentsOf: Fixtures.url("synthetic/rgba16_interlaced.png")))
        #expect(png == ImageHeader(format: .png, width: 21, height: 15, components: 4, bitDepth: 16, isProgressive: true, pngColorType: .rgba))
    }

    @Test("formats are recognised by signature, not by name")
    func signatures() throws {
        let png = try Data(contentsOf: Fixtures.url("synthetic/gradient.png"))
        #expect(ImageFormat(signatureOf: png) == .png)
        #expect(ImageFormat(signatureOf: Data([0xFF, 0xD8, 0xFF, 0xE0])) == .jpeg)
        #expect(ImageFormat(signatureOf: Data("GIF89a".utf8)) == nil)
        // A PNG named .jpg still decodes.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grain-imaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let misnamed = directory.appendingPathComponent("really-a-png.jpg")
        try png.write(to: misnamed)
        #expect(try Image(contentsOf: misnamed).width == 64)
    }
}
