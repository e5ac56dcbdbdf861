import Foundation
import Imaging
import Tensor
import Testing

/// A smooth gradient with seeded noise: enough detail that JPEG tables matter, any size.
func texturedImage(width: Int, height: Int, seed: UInt64) -> Image {
    var generator = RandomGenerator(seed: seed)
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            for channel in 0..<3 {
                let base = Double(x * (channel + 1) * 255 / max(width, 1) + y * 128 / max(height, 1))
                let noise = generator.nextUnitDouble() * 40 - 20
                pixels[(y * width + x) * 3 + channel] = UInt8(clamping: Int(base + noise) % 256)
            }
        }
    }
    return Image(width: width, height: height, channels: 3, pixels: pixels)
}

@Suite struct SourceDescriptionTests {
    /// Grain's (Pillow-compatible) encoder at every quality and each subsampling: the estimate
    /// must recover the quality exactly, flag the tables as IJG-standard, and read the layout.
    @Test func qualityAndSubsamplingAreRecoveredFromGrainsOwnEncoder() throws {
        let image = texturedImage(width: 37, height: 29, seed: 1)
        let grey = Image(width: 37, height: 29, channels: 1, pixels: Array(image.pixels.prefix(37 * 29)))
        for subsampling in ChromaSubsampling.allCases {
            for quality in 10...100 {
                let data = try image.encoded(as: .jpeg(quality: quality, subsampling: subsampling))
                let description = try ImageSourceDescription(data: data)
                let jpeg = try #require(description.jpeg)
                #expect(jpeg.quality.quality == quality, "q\(quality) \(subsampling.notation): estimated \(jpeg.quality)")
                #expect(jpeg.quality.isStandard && jpeg.quality.meanAbsoluteDifference == 0)
                #expect(jpeg.chroma.subsampling == subsampling, "q\(quality): read \(jpeg.chroma)")
                #expect(jpeg.chrominanceTable != nil)
                #expect(description.header.format == .jpeg && description.header.width == 37 && description.header.height == 29)
                #expect(description.header.bitDepth == 8 && description.header.components == 3 && description.header.pngColorType == nil)
            }
        }
        for quality in [1, 5, 50, 99] {
            let jpeg = try #require(try ImageSourceDescription(data: grey.encoded(as: .jpeg(quality: quality))).jpeg)
            #expect(jpeg.quality.quality == quality && jpeg.quality.isStandard)
            #expect(jpeg.chroma == .greyscale && jpeg.chrominanceTable == nil && jpeg.samplingFactors.count == 1)
        }
    }

    /// Every IJG quality gives distinct tables, so the nearest-table rule is exact on them.
    @Test func everyStandardQualityHasDistinctTables() {
        var seen = Set<[Int]>()
        for quality in 1...100 {
            let tables = JPEGQualityEstimate.standardTable(JPEGQualityEstimate.luminanceBase, quality: quality)
                + JPEGQualityEstimate.standardTable(JPEGQualityEstimate.chrominanceBase, quality: quality)
            #expect(seen.insert(tables).inserted, "quality \(quality) repeats an earlier quality's tables")
        }
        // q50 is the base table itself; q100 is all ones.
        #expect(JPEGQualityEstimate.standardTable(JPEGQualityEstimate.luminanceBase, quality: 50) == JPEGQualityEstimate.luminanceBase)
        #expect(JPEGQualityEstimate.standardTable(JPEGQualityEstimate.luminanceBase, quality: 100).allSatisfy { $0 == 1 })
    }

    /// Tables that are not IJG-scaled get the nearest quality with the flag down and a distance.
    @Test func nonStandardTablesAreFlagged() throws {
        var luminance = JPEGQualityEstimate.standardTable(JPEGQualityEstimate.luminanceBase, quality: 80)
        var chrominance = JPEGQualityEstimate.standardTable(JPEGQualityEstimate.chrominanceBase, quality: 80)
        luminance[0] += 3
        chrominance[63] -= 2
        let estimate = try #require(JPEGQualityEstimate(luminance: luminance, chrominance: chrominance))
        #expect(estimate.quality == 80 && !estimate.isStandard)
        #expect(abs(estimate.meanAbsoluteDifference - 5.0 / 128) < 1e-12)
        // A flat table of 2s (like a camera's superfine mode) lies between q96 and q100.
        let flat = try #require(JPEGQualityEstimate(luminance: [Int](repeating: 2, count: 64), chrominance: nil))
        #expect((95...99).contains(flat.quality) && !flat.isStandard)
        #expect(JPEGQualityEstimate(luminance: [1, 2], chrominance: nil) == nil)
    }

    /// Pillow-written fixtures: progressive files, 4:2:2, grey, CMYK; PNG colour types and depths.
    @Test func fixturesAreDescribed() throws {
        func describe(_ name: String) throws -> ImageSourceDescription {
            try ImageSourceDescription(contentsOf: Fixtures.url("synthetic/" + name))
        }
        let cases: [(String, Int, ChromaLayout, Bool)] = [
            ("q75_422_progressive.jpg", 75, .ratio422, true), ("q80_420_progressive.jpg", 80, .ratio420, true),
            ("q85_422.jpg", 85, .ratio422, false), ("q90_420.jpg", 90, .ratio420, false), ("q95_444.jpg", 95, .ratio444, false),
            ("grey_q85.jpg", 85, .greyscale, false),
        ]
        for (name, quality, chroma, progressive) in cases {
            let description = try describe(name)
            let jpeg = try #require(description.jpeg, "\(name)")
            #expect(jpeg.quality.quality == quality && jpeg.quality.isStandard, "\(name): \(jpeg.quality)")
            #expect(jpeg.chroma == chroma && description.header.isProgressive == progressive, "\(name): \(jpeg.chroma)")
        }
        let cmyk = try #require(try describe("cmyk_q90.jpg").jpeg)
        #expect(cmyk.chroma == .other && cmyk.samplingFactors.count == 4)
        let pngs: [(String, PNGColorType, Int)] = [
            ("rgb16.png", .rgb, 16), ("grey16.png", .grey, 16), ("grey1.png", .grey, 1), ("palette1.png", .palette, 1),
            ("rgba8.png", .rgba, 8), ("greyalpha8.png", .greyAlpha, 8), ("rgb8_interlaced.png", .rgb, 8),
        ]
        for (name, colorType, depth) in pngs {
            let description = try describe(name)
            #expect(description.header.format == .png && description.jpeg == nil, "\(name)")
            #expect(description.header.pngColorType == colorType && description.header.bitDepth == depth, "\(name): \(String(describing: description.header.pngColorType)) \(description.header.bitDepth)")
        }
        #expect(try describe("rgb8_interlaced.png").header.isProgressive)
    }

    /// A description survives JSON; bad input gives the header reader's typed errors.
    @Test func descriptionRoundTripsAndRejectsBadInput() throws {
        let data = try texturedImage(width: 20, height: 18, seed: 2).encoded(as: .jpeg(quality: 67, subsampling: .ratio422))
        let description = try ImageSourceDescription(data: data)
        let decoded = try JSONDecoder().decode(ImageSourceDescription.self, from: JSONEncoder().encode(description))
        #expect(decoded == description)
        #expect(throws: ImageError.self) { try ImageSourceDescription(data: Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]), name: "cut.jpg") }
        #expect(throws: ImageError.unsupportedFormat(path: "x.gif", detail: "not a JPEG or PNG file (unrecognised signature)")) {
            try ImageSourceDescription(data: Data("GIF89a".utf8), name: "x.gif")
        }
        do {
            _ = try ImageSourceDescription(contentsOf: URL(fileURLWithPath: "/nonexistent/grain.jpg"))
            Issue.record("a missing file was described")
        } catch {
            #expect(error.path == "/nonexistent/grain.jpg")
        }
    }

    /// The camera JPEGs of dev2: plausible qualities (mostly high, non-IJG tables flagged) and
    /// their subsamplings, printed as a histogram.
    @Test func cameraJPEGsGivePlausibleQualities() throws {
        let root = Fixtures.testsDirectory.appendingPathComponent("../../../shared/data/dev2/real").standardizedFileURL
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            print("skipped: dev2 camera photos not found at \(root.path)")
            return
        }
        var qualities: [Int: Int] = [:]
        var layouts: [String: Int] = [:]
        var standard = 0
        var count = 0
        for case let url as URL in enumerator where ["jpg", "jpeg"].contains(url.pathExtension.lowercased()) {
            let description = try ImageSourceDescription(contentsOf: url)
            let jpeg = try #require(description.jpeg, "\(url.lastPathComponent)")
            qualities[jpeg.quality.quality / 10 * 10, default: 0] += 1
            layouts[jpeg.chroma.rawValue, default: 0] += 1
            standard += jpeg.quality.isStandard ? 1 : 0
            count += 1
            // Every table entry of an 8-bit baseline camera file is 1…255; the estimate is in 1…100.
            #expect(jpeg.luminanceTable.allSatisfy { (1...255).contains($0) }, "\(url.lastPathComponent)")
            #expect((1...100).contains(jpeg.quality.quality))
        }
        guard count > 0 else {
            print("skipped: no JPEG under \(root.path)")
            return
        }
        print("dev2 real JPEGs: \(count), IJG-standard tables: \(standard)")
        for decade in qualities.keys.sorted() {
            print(String(format: "  q%3d-%3d %4d ", decade, decade + 9, qualities[decade]!) + String(repeating: "#", count: qualities[decade]!))
        }
        print("  chroma: " + layouts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        // Camera and photo-library JPEGs are saved at high quality: most estimates are ≥ 70.
        let high = qualities.filter { $0.key >= 70 }.values.reduce(0, +)
        #expect(Double(high) >= 0.8 * Double(count), "only \(high) of \(count) camera JPEGs estimated at quality ≥ 70")
    }
}
