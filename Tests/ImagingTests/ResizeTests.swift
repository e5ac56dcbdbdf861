import Foundation
import Testing
@testable import Imaging

/// Resampling equals Pillow's `Image.resize(size, filter)` on 8-bit images.
@Suite("Resize parity with Pillow")
struct ResizeTests {
    static let syntheticCases = Fixtures.resize.cases.filter { !$0.file.hasPrefix("dev:") }
    static let devCases = Fixtures.resize.cases.filter { $0.file.hasPrefix("dev:") }

    static func filter(_ name: String?) -> ResamplingFilter {
        switch name {
        case "bilinear": return .bilinear
        case "bicubic": return .bicubic
        case "box": return .box
        case "hamming": return .hamming
        case "lanczos": return .lanczos
        default: fatalError("unknown filter \(name ?? "nil")")
        }
    }

    @Test("synthetic image, every filter, down and up", arguments: syntheticCases)
    func synthetic(_ fixture: ImageFixture) throws {
        let source = try Image(contentsOf: Fixtures.url(fixture.file))
        let resized = source.resized(width: fixture.width, height: fixture.height, filter: Self.filter(fixture.filter))
        let parity = Parity(resized, fixture)
        #expect(parity.exact, "\(fixture): \(parity)")
    }

    @Test("dev-set photographs downsampled", .enabled(if: devSetAvailable, "../shared/data/dev is absent"))
    func devSet() throws {
        for fixture in Self.devCases {
            let source = try Image(contentsOf: Fixtures.url(fixture.file))
            let resized = source.resized(width: fixture.width, height: fixture.height, filter: Self.filter(fixture.filter))
            let parity = Parity(resized, fixture)
            #expect(parity.exact, "\(fixture): \(parity)")
        }
    }

    @Test("same size is the identity; one axis at a time works")
    func identityAndSingleAxis() throws {
        let source = try Image(contentsOf: Fixtures.url("synthetic/gradient.png"))
        #expect(source.resized(width: 64, height: 48) == source)
        // Upsampling a constant image keeps it constant (weights are normalised).
        let flat = Image(width: 5, height: 4, channels: 3, repeating: 77)
        #expect(flat.resized(width: 13, height: 4, filter: .lanczos).pixels.allSatisfy { $0 == 77 })
        #expect(flat.resized(width: 5, height: 9, filter: .bicubic).pixels.allSatisfy { $0 == 77 })
        // Grey and RGBA resize channel by channel.
        let grey = Image(width: 6, height: 6, channels: 1, pixels: (0..<36).map { UInt8($0 * 7) })
        #expect(grey.resized(width: 3, height: 3, filter: .box).pixels.count == 9)
    }
}
