import Foundation
import Imaging
import OneClass
import Testing

@Suite struct DetectorDomainTests {
    /// A header description of a `width`×`height` image, encoded for real so the JPEG fields are
    /// what the header reader gives.
    static func describe(width: Int, height: Int, _ encoding: ImageEncoding, channels: Int = 3) throws -> ImageSourceDescription {
        let pixels = (0..<(width * height * channels)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 7) }
        let image = Image(width: width, height: height, channels: channels, pixels: pixels)
        return try ImageSourceDescription(data: image.encoded(as: encoding))
    }

    /// A fit set of JPEGs at qualities 70…98, 4:2:0, 64…256 patches.
    static func fitDomain() throws -> DetectorDomain {
        var images: [(description: ImageSourceDescription, patchCount: Int)] = []
        for (index, quality) in [70, 75, 80, 85, 90, 95, 98].enumerated() {
            images.append((try describe(width: 32 + index * 8, height: 32, .jpeg(quality: quality)), 64 + index * 32))
        }
        return try DetectorDomain(images: images)
    }

    @Test func imagesLikeTheFitSetAreInside() throws {
        let domain = try Self.fitDomain()
        #expect(domain.imageCount == 7 && domain.formats == ["jpeg": 7] && domain.chromaLayouts == ["4:2:0": 7])
        #expect(domain.jpegQualities?.minimum == 70 && domain.jpegQualities?.maximum == 98 && domain.jpegQualities?.median == 85)
        #expect(domain.patchCounts.minimum == 64 && domain.patchCounts.maximum == 256)
        #expect(domain.standardJPEGCount == 7 && domain.nonStandardJPEGCount == 0)
        // Inside, and just inside the tolerance (quality 65 = 70 − 5, 48 patches = 64 · 0.75).
        #expect(domain.reasons(for: try Self.describe(width: 40, height: 40, .jpeg(quality: 88)), patchCount: 100).isEmpty)
        #expect(domain.reasons(for: try Self.describe(width: 40, height: 40, .jpeg(quality: 65)), patchCount: 48).isEmpty)
        #expect(domain.reasons(for: try Self.describe(width: 40, height: 40, .jpeg(quality: 100)), patchCount: 320).isEmpty)
    }

    @Test func eachDepartureGivesItsReason() throws {
        let domain = try Self.fitDomain()
        let lowQuality = domain.reasons(for: try Self.describe(width: 40, height: 40, .jpeg(quality: 45)), patchCount: 4)
        #expect(lowQuality == [.jpegQualityBelowRange(quality: 45, fitted: 70...98, tolerance: 5),
                               .patchCountBelowRange(patchCount: 4, smallestFitted: 64, lowestAccepted: 48)])
        #expect(lowQuality.map(\.description) == ["JPEG quality 45 below fitted range 70–98 (tolerance 5)",
                                                  "patch count 4 below the smallest fitted 64 (accepted from 48)"])
        let png = domain.reasons(for: try Self.describe(width: 40, height: 40, .png), patchCount: 100)
        #expect(png == [.formatNeverSeen(format: "png", fitted: ["jpeg"])])
        #expect(png.first?.description == "format png never seen in fit (fitted: jpeg)")
        let grey = domain.reasons(for: try Self.describe(width: 40, height: 40, .jpeg(quality: 80), channels: 1), patchCount: 100)
        #expect(grey == [.componentCountNeverSeen(components: 1, fitted: [3]), .chromaLayoutNeverSeen(layout: "grey", fitted: ["4:2:0"])])
        let chroma = domain.reasons(for: try Self.describe(width: 40, height: 40, .jpeg(quality: 80, subsampling: .ratio444)), patchCount: 321)
        #expect(chroma == [.chromaLayoutNeverSeen(layout: "4:4:4", fitted: ["4:2:0"]),
                           .patchCountAboveRange(patchCount: 321, largestFitted: 256, highestAccepted: 320)])
        // A 16-bit PNG (Grain writes 8-bit PNGs, so the header field is set by hand): never-seen
        // format, bit depth.
        var deep = try Self.describe(width: 40, height: 40, .png)
        deep.header.bitDepth = 16
        let reasons = domain.reasons(for: deep, patchCount: 100)
        #expect(reasons.map(\.code) == ["format", "bit-depth"])
        #expect(reasons[1].description == "16-bit image, fit saw 8-bit only")
        // Camera-like (non-IJG) tables against a fit of IJG ones.
        var camera = try Self.describe(width: 40, height: 40, .jpeg(quality: 90))
        camera.jpeg?.quality = JPEGQualityEstimate(quality: 90, isStandard: false, meanAbsoluteDifference: 0.7)
        #expect(domain.reasons(for: camera, patchCount: 100) == [.quantisationTablesNeverSeen(standard: false)])
    }

    @Test func toleranceIsValidatedAndApplied() throws {
        #expect(throws: DetectorDomainError.invalidField(name: "tolerance.patchCountFraction", value: "1.0", expected: "a fraction in [0, 1)")) {
            try DetectorDomain.Tolerance(jpegQuality: 5, patchCountFraction: 1)
        }
        #expect(throws: DetectorDomainError.self) { try DetectorDomain.Tolerance(jpegQuality: -1, patchCountFraction: 0) }
        let strict = try DetectorDomain.Tolerance(jpegQuality: 0, patchCountFraction: 0)
        let description = try Self.describe(width: 16, height: 16, .jpeg(quality: 80))
        let domain = try DetectorDomain(images: [(description, 10), (description, 20)], tolerance: strict)
        #expect(domain.reasons(for: try Self.describe(width: 16, height: 16, .jpeg(quality: 79)), patchCount: 10).map(\.code) == ["jpeg-quality"])
        #expect(domain.reasons(for: description, patchCount: 9).map(\.code) == ["patch-count"])
        #expect(domain.reasons(for: description, patchCount: 21).map(\.code) == ["patch-count"])
        #expect(throws: DetectorDomainError.empty) { try DetectorDomain(images: []) }
        #expect(throws: DetectorDomainError.self) { try DetectorDomain(images: [(description, 0)]) }
    }

    /// The record round-trips through JSON (as it will through the detector file), and an edited
    /// record that does not add up is refused on decoding, naming the field.
    @Test func domainRoundTripsAndIsValidatedOnDecoding() throws {
        let domain = try DetectorDomain(images: [
            (try Self.describe(width: 40, height: 30, .jpeg(quality: 90)), 80), (try Self.describe(width: 30, height: 40, .png), 70),
        ])
        let data = try JSONEncoder().encode(domain)
        #expect(try JSONDecoder().decode(DetectorDomain.self, from: data) == domain)
        func edited(_ change: (inout [String: Any]) -> Void) throws -> Data {
            var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            change(&object)
            return try JSONSerialization.data(withJSONObject: object)
        }
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("formats", { $0["formats"] = ["jpeg": 1, "png": 5] }),
            ("formats", { $0["formats"] = ["gif": 1, "png": 1] }),
            ("imageCount", { $0["imageCount"] = 0 }),
            ("jpegQualities", { $0["jpegQualities"] = nil }),
            ("jpegQualities", { $0["jpegQualities"] = ["minimum": 0, "lowerQuantile": 0, "median": 0, "upperQuantile": 0, "maximum": 0] }),
            ("patchCounts", { $0["patchCounts"] = ["minimum": 90, "lowerQuantile": 70, "median": 70, "upperQuantile": 80, "maximum": 80] }),
            ("chromaLayouts", { $0["chromaLayouts"] = ["4:2:1": 1] }),
            ("tolerance.jpegQuality", { $0["tolerance"] = ["jpegQuality": -3, "patchCountFraction": 0.25] }),
        ]
        for (field, change) in cases {
            do {
                _ = try JSONDecoder().decode(DetectorDomain.self, from: try edited(change))
                Issue.record("\(field): an inconsistent record was accepted")
            } catch let error as DetectorDomainError {
                guard case .invalidField(let name, _, _) = error else { Issue.record("\(field): \(error)"); continue }
                #expect(name == field, "\(error)")
            }
        }
    }
}
