import Foundation
import Testing
@testable import Imaging

/// Bad files throw a typed error naming the file; they never crash.
@Suite("Malformed input")
struct MalformedInputTests {
    static func bytes(_ file: String) throws -> Data { try Data(contentsOf: Fixtures.url(file)) }

    @Test("truncated JPEG (baseline and progressive) and PNG throw .truncated",
          arguments: ["synthetic/q90_420.jpg", "synthetic/q80_420_progressive.jpg", "synthetic/gradient.png",
                      "synthetic/rgba16_interlaced.png"])
    func truncated(_ file: String) throws {
        let data = try Self.bytes(file)
        for keep in [data.count / 2, data.count * 9 / 10, 40] {
            #expect {
                _ = try Image(data: data.prefix(keep), name: "cut.bin")
            } throws: { error in
                guard let error = error as? ImageError, case .truncated(let path, _) = error else { return false }
                return path == "cut.bin"
            }
        }
    }

    @Test("a JPEG missing only its EOI marker is truncated, as in Pillow")
    func missingEndOfImage() throws {
        let data = try Self.bytes("synthetic/q90_420.jpg")
        #expect(throws: ImageError.self) { try Image(data: data.dropLast(2)) }
    }

    @Test("a PNG cut after its image data still decodes, as in Pillow")
    func pngWithoutEnd() throws {
        let data = try Self.bytes("synthetic/gradient.png")
        let full = try Image(data: data)
        #expect(try Image(data: data.dropLast(12)) == full)  // IEND chunk removed
    }

    @Test("random bytes, empty data and short prefixes")
    func garbage() throws {
        var noise = ByteNoise(state: 42)
        #expect(throws: ImageError.unsupportedFormat(path: "<memory>", detail: "not a JPEG or PNG file (unrecognised signature)")) {
            try Image(data: Data([0x00]) + noise.bytes(1000))
        }
        #expect { try Image(data: Data()) } throws: { error in
            if case .truncated = error as? ImageError { return true } else { return false }
        }
        #expect { try Image(data: Data([0x89, 0x50, 0x4E])) } throws: { error in
            if case .truncated = error as? ImageError { return true } else { return false }
        }
        // Valid signatures followed by garbage.
        for signature in [Data([0xFF, 0xD8, 0xFF]), Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])] {
            for length in [0, 5, 100, 5000] {
                #expect(throws: ImageError.self) { try Image(data: signature + noise.bytes(length)) }
            }
        }
    }

    /// Mutations per file; GRAIN_FUZZ_ITERATIONS raises it for a longer local run
    /// (e.g. under `swift test --sanitize=address`).
    static let mutationsPerFile = ProcessInfo.processInfo.environment["GRAIN_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 40

    @Test("corrupted bytes never crash the decoders")
    func mutations() throws {
        var noise = ByteNoise(state: 2025)
        for file in ["synthetic/q85_422.jpg", "synthetic/q75_422_progressive.jpg", "synthetic/cmyk_q90.jpg",
                     "synthetic/grey_q85.jpg", "synthetic/palette4_interlaced.png", "synthetic/rgb16.png",
                     "synthetic/greyalpha16.png", "synthetic/grey2_interlaced.png"] {
            let original = [UInt8](try Self.bytes(file))
            for _ in 0..<Self.mutationsPerFile {
                var mutated = original
                for _ in 0..<(1 + Int(noise.next() % 8)) {
                    let index = Int(noise.next() % UInt64(mutated.count))
                    mutated[index] = UInt8(truncatingIfNeeded: noise.next())
                }
                // Either outcome is fine; what matters is that there is one.
                if let image = try? Image(data: Data(mutated), pixelLimit: 1 << 22) {
                    #expect(image.pixels.count == image.width * image.height * 3)
                }
            }
        }
    }

    /// A PNG whose IHDR declares width × height (valid CRC, no image data).
    static func pngHeader(width: UInt32, height: UInt32) -> Data {
        var ihdr = Data("IHDR".utf8)
        for value in [width, height] { withUnsafeBytes(of: value.bigEndian) { ihdr.append(contentsOf: $0) } }
        ihdr.append(contentsOf: [8, 2, 0, 0, 0])
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in ihdr {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        var data = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]) + ihdr
        withUnsafeBytes(of: (~crc).bigEndian) { data.append(contentsOf: $0) }
        return data
    }

    @Test("a PNG header claiming 100000×100000 is refused before allocating")
    func decompressionBombPNG() throws {
        let bomb = Self.pngHeader(width: 100_000, height: 100_000)
        #expect(try Image.header(of: bomb).width == 100_000)
        #expect(throws: ImageError.tooManyPixels(path: "bomb.png", width: 100_000, height: 100_000, limit: Image.defaultPixelLimit)) {
            try Image(data: bomb, name: "bomb.png")
        }
    }

    @Test("a JPEG header claiming 60000×50000 is refused; the limit is configurable")
    func decompressionBombJPEG() throws {
        var data = [UInt8](try Self.bytes("synthetic/q90_420.jpg"))
        // Patch the SOF0 frame size (FF C0, length, precision, height, width).
        let sof = (0..<data.count - 1).first { data[$0] == 0xFF && data[$0 + 1] == 0xC0 }!
        data[sof + 5] = UInt8(50_000 >> 8); data[sof + 6] = UInt8(50_000 & 255)
        data[sof + 7] = UInt8(60_000 >> 8); data[sof + 8] = UInt8(60_000 & 255)
        #expect(throws: ImageError.tooManyPixels(path: "<memory>", width: 60_000, height: 50_000, limit: Image.defaultPixelLimit)) {
            try Image(data: Data(data))
        }
        let image = try Self.bytes("synthetic/q90_420.jpg")
        #expect(throws: ImageError.tooManyPixels(path: "<memory>", width: 61, height: 45, limit: 1000)) {
            try Image(data: image, pixelLimit: 1000)
        }
        #expect(try Image(data: image, pixelLimit: nil).width == 61)
    }

    @Test("unreadable paths name the file")
    func unreadable() throws {
        let missing = "/nonexistent/grain/photo.jpg"
        do {
            _ = try Image(contentsOfFile: missing)
            Issue.record("decoding a missing file succeeded")
        } catch {
            guard case .unreadable(let path, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(path == missing)
            #expect(error.description.contains(missing))
        }
        #expect(throws: ImageError.self) { try Image(contentsOf: Fixtures.directory) }
    }
}
