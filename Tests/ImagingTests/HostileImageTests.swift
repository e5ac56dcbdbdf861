#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Imaging

/// Hostile image files (issue 17). On the code before the fix: a 100,000 × 100,000 PNG with a
/// huge pixel limit aborted the process ("failed to allocate 30000000032 bytes"); the patched
/// JPEG declaring 9,000 × 9,000 in a few kilobytes decoded (as grey) in about a minute and
/// gigabytes; a JPEG repeating its last scan 150 times decoded every pass; reading a FIFO
/// blocked in `open` forever.
@Suite("Hostile images")
struct HostileImageTests {
    static func bytes(_ file: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: Fixtures.url(file))) }

    /// The JPEG fixture with its SOF0/SOF2 frame size patched to `width` × `height`.
    static func jpeg(_ file: String, declaring width: Int, _ height: Int) throws -> Data {
        var data = try bytes(file)
        let sof = (0..<data.count - 1).first { data[$0] == 0xFF && (data[$0 + 1] == 0xC0 || data[$0 + 1] == 0xC2) }!
        data[sof + 5] = UInt8(height >> 8); data[sof + 6] = UInt8(height & 255)
        data[sof + 7] = UInt8(width >> 8); data[sof + 8] = UInt8(width & 255)
        return Data(data)
    }

    @Test("any pixel limit, even Int.max or none, is capped before allocating")
    func pixelLimitIsCapped() throws {
        let bomb = MalformedInputTests.pngHeader(width: 100_000, height: 100_000)
        for limit in [Int.max, Int.max / 2, nil] as [Int?] {
            #expect(throws: ImageError.tooManyPixels(path: "bomb.png", width: 100_000, height: 100_000, limit: Image.maximumPixelLimit)) {
                try Image(data: bomb, name: "bomb.png", pixelLimit: limit)
            }
        }
        #expect(Image.effectivePixelLimit(nil) == Image.maximumPixelLimit)
        #expect(Image.effectivePixelLimit(-5) == 0)
        #expect(Image.effectivePixelLimit(1000) == 1000)
        // 3 bytes per pixel at the cap cannot overflow, and stays below a gigabyte.
        #expect(Image.maximumPixelLimit.multipliedReportingOverflow(by: 3).partialValue < 1 << 30)
    }

    @Test("a small file declaring a huge image is refused before decoding")
    func implausibleDeclaredSize() throws {
        let jpeg = try Self.jpeg("synthetic/q90_420.jpg", declaring: 9000, 9000)
        #expect(jpeg.count < 8 * 1024)
        #expect(throws: ImageError.implausibleSize(path: "tiny.jpg", width: 9000, height: 9000, byteCount: jpeg.count,
                                                   pixelsPerByte: Image.maximumPixelsPerByte(.jpeg))) {
            try Image(data: jpeg, name: "tiny.jpg")
        }
        let wide = try Self.jpeg("synthetic/q90_420.jpg", declaring: 65_500, 64)
        #expect(throws: ImageError.self) { try Image(data: wide) }
        let png = MalformedInputTests.pngHeader(width: 9000, height: 9000)
        #expect(throws: ImageError.implausibleSize(path: "tiny.png", width: 9000, height: 9000, byteCount: png.count,
                                                   pixelsPerByte: Image.maximumPixelsPerByte(.png))) {
            try Image(data: png, name: "tiny.png")
        }
        // Small declared sizes are never judged by the file size: the fixtures still decode.
        #expect(try Image(data: Data(Self.bytes("synthetic/q90_420.jpg"))).width == 61)
        // A flat 1,024 × 1,024 image, the most compressible real content, is far inside the bound.
        let flat = try Image(width: 1024, height: 1024, channels: 3, repeating: 128).encoded(as: .jpeg(quality: 75))
        #expect(1024 * 1024 < flat.count * Image.maximumPixelsPerByte(.jpeg))
        #expect(try Image(data: flat).height == 1024)
        let flatPNG = try Image(width: 1024, height: 1024, channels: 3, repeating: 128).encoded(as: .png)
        #expect(try Image(data: flatPNG).height == 1024)
    }

    @Test("a JPEG with more than 100 scans is corrupt")
    func tooManyScans() throws {
        let data = try Self.bytes("synthetic/q80_420_progressive.jpg")
        // Repeat the last scan (from its SOS marker to EOI) 150 times.
        let eoi = (0..<data.count - 1).last { data[$0] == 0xFF && data[$0 + 1] == 0xD9 }!
        let lastScan = (0..<eoi).last { data[$0] == 0xFF && data[$0 + 1] == 0xDA }!
        let scan = data[lastScan..<eoi]
        var patched = Array(data[..<eoi])
        for _ in 0..<150 { patched += scan }
        patched += [0xFF, 0xD9]
        do {
            _ = try Image(data: Data(patched), name: "scans.jpg")
            Issue.record("a JPEG of 150 repeated scans decoded")
        } catch {
            guard case .corrupt(_, let detail) = error else { Issue.record("unexpected \(error)"); return }
            #expect(detail.contains("more than 100 scans"))
        }
        // The unpatched progressive fixture still decodes.
        #expect(try Image(data: Data(data)).width > 0)
    }

    @Test("a FIFO or a directory is refused without blocking")
    func nonRegularFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("photo.png")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: ImageError?
        Thread.detachNewThread {
            do { _ = try Image(contentsOf: fifo) } catch let error as ImageError { outcome = error } catch {}
            done.signal()
        }
        if done.wait(timeout: .now() + 10) == .timedOut {
            Issue.record("reading a FIFO blocked for 10 s")
            let writer = open(fifo.path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            done.wait()
        }
        #expect(outcome == .unreadable(path: fifo.path, reason: "it is a FIFO (named pipe), not a regular file"))
        #expect(throws: ImageError.unreadable(path: folder.path, reason: "it is a directory, not a regular file")) {
            try Image(contentsOf: folder)
        }
        #expect(throws: ImageError.self) { try SHA256.hexDigest(ofFileAt: fifo) }
    }
}
