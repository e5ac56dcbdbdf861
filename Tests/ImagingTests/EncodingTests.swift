import Foundation
import Testing
@testable import Imaging

@Suite("Encoding")
struct EncodingTests {
    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grain-imaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func sha256(_ data: Data) -> String {
        Image(width: data.count, height: 1, channels: 1, pixels: [UInt8](data)).pixelDigest
    }

    @Test("JPEG bytes equal Pillow's img.save(buffer, quality=q, subsampling=s)", arguments: Fixtures.encode.cases)
    func jpegMatchesPillow(_ fixture: EncodeFixture) throws {
        var image = try Image(contentsOf: Fixtures.url("synthetic/gradient.png"))
        if fixture.file.hasSuffix(":L") {
            // Pillow's convert("L"): L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16.
            var grey = [UInt8](repeating: 0, count: image.pixelCount)
            for i in 0..<image.pixelCount {
                let r = Int(image.pixels[3 * i]), g = Int(image.pixels[3 * i + 1]), b = Int(image.pixels[3 * i + 2])
                grey[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
            }
            image = Image(width: image.width, height: image.height, channels: 1, pixels: grey)
        }
        let encoded = try image.encoded(as: .jpeg(quality: fixture.quality,
                                                  subsampling: ChromaSubsampling(rawValue: fixture.subsampling)!))
        #expect(encoded.count == fixture.length, "\(fixture): \(encoded.count) bytes, Pillow wrote \(fixture.length)")
        #expect(Self.sha256(encoded) == fixture.sha256, "\(fixture): bytes differ from Pillow's")
    }

    @Test("PNG round trip is lossless for grey, grey+alpha, RGB and RGBA")
    func pngRoundTrip() throws {
        var noise = ByteNoise(state: 7)
        for channels in 1...4 {
            let image = Image(width: 23, height: 11, channels: channels, pixels: [UInt8](noise.bytes(23 * 11 * channels)))
            let decoded = try Image(data: image.encoded(as: .png))
            // Decoding gives RGB as Pillow's convert("RGB"): grey replicated, alpha dropped.
            for y in 0..<11 {
                for x in 0..<23 {
                    for c in 0..<3 {
                        let expected = channels <= 2 ? image[x: x, y: y, channel: 0] : image[x: x, y: y, channel: c]
                        #expect(decoded[x: x, y: y, channel: c] == expected)
                    }
                }
            }
        }
    }

    @Test("JPEG round trip is close, and higher quality is closer")
    func jpegRoundTrip() throws {
        let image = try Image(contentsOf: Fixtures.url("synthetic/gradient.png"))
        func meanError(_ quality: Int) throws -> Double {
            let decoded = try Image(data: image.encoded(as: .jpeg(quality: quality, subsampling: .ratio444)))
            return zip(decoded.pixels, image.pixels).reduce(0.0) { $0 + Double(abs(Int($1.0) - Int($1.1))) } / Double(image.pixels.count)
        }
        let low = try meanError(30), high = try meanError(95)
        #expect(high < low)
        #expect(high < 4, "mean |Δ| at quality 95 (4:4:4) is \(high)")
    }

    @Test("encoder refuses what it cannot write")
    func encoderErrors() throws {
        let rgba = Image(width: 4, height: 4, channels: 4)
        #expect(throws: ImageError.self) { try rgba.encoded(as: .jpeg()) }
        let rgb = Image(width: 4, height: 4, channels: 3)
        #expect(throws: ImageError.self) { try rgb.encoded(as: .jpeg(quality: 0)) }
        #expect(throws: ImageError.self) { try rgb.encoded(as: .jpeg(quality: 101)) }
        do {
            _ = try rgba.encoded(as: .jpeg(), name: "out.jpg")
        } catch {
            guard case .encodingFailed(let path, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(path == "out.jpg")
        }
    }

    @Test("writes are atomic and leave no temporary files")
    func atomicWrite() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let image = try Image(contentsOf: Fixtures.url("synthetic/gradient.png"))
        let png = directory.appendingPathComponent("copy.png")
        try image.write(to: png)
        #expect(try Image(contentsOf: png) == image)
        // Overwriting replaces the file in one step.
        let other = Image(width: 3, height: 2, channels: 3, repeating: 9)
        try other.write(to: png)
        #expect(try Image(contentsOf: png) == other)
        let jpeg = directory.appendingPathComponent("copy.JPG")
        try image.write(to: jpeg)
        #expect(try Image.header(of: Data(contentsOf: jpeg)).format == .jpeg)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["copy.JPG", "copy.png"])
        // Unknown extension without an explicit encoding, and a missing directory, are errors.
        #expect(throws: ImageError.self) { try image.write(to: directory.appendingPathComponent("copy.tiff")) }
        let missing = directory.appendingPathComponent("no/such/dir/x.png")
        do {
            try image.write(to: missing)
            Issue.record("writing into a missing directory succeeded")
        } catch {
            guard case .unwritable(let path, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(path == missing.path)
        }
    }
}
