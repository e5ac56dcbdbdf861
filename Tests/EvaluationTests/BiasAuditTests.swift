import Foundation
import Imaging
import OneClass
@testable import Evaluation
import Tensor
import Testing

/// The bias audit: matched transformations are the same for both classes; what survives; per-source rates.
struct BiasAuditTests {
    /// An image with a seeded texture.
    static func texture(seed: UInt64, width: Int, height: Int) -> Image {
        var generator = RandomGenerator(seed: seed)
        let pixels = (0..<(width * height * 3)).map { _ in UInt8(generator.next() % 256) }
        return Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    @Test func matchedTransformsAreIdenticalForBothClasses() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let photo = folder.appendingPathComponent("photo.png"), copy = folder.appendingPathComponent("copy-as-fake.png")
        try Self.texture(seed: 1, width: 90, height: 60).write(to: photo)
        try FileManager.default.copyItem(at: photo, to: copy)
        let settings: [ImagePerturbation] = [.original, .jpeg(quality: 80), .matchedSize(side: 48), .downscale(factor: 0.5),
                                             .composed(.matchedSize(side: 48), .jpeg(quality: 80))]
        let sampling = TestSampling(cropsPerImage: 0, cropSize: 256, seed: 0)
        func extract(_ image: Image) -> [[Float]] {
            [[Float(image.width), Float(image.height), Float(image.pixels.reduce(0) { $0 + Int($1) }), Float(image.pixels.enumerated().reduce(0) { $0 &+ ($1.offset % 7) * Int($1.element) })]]
        }
        // Real and fake sources get different stream bases, as `grain evaluate` gives them.
        let real = Evaluation.features(files: [photo], perturbations: settings, sampling: sampling, source: 0, memberCount: 1, extract: extract)
        let fake = Evaluation.features(files: [copy], perturbations: settings, sampling: sampling, source: 1, memberCount: 1, extract: extract)
        for index in settings.indices {
            #expect(real.settings[index].rows == fake.settings[index].rows, "\(settings[index])")
        }
        #expect(real.settings[2].rows[0][0][0...1] == [48, 48])
        #expect(real.settings[1].rows != real.settings[0].rows)
        // Size then format: the JPEG round trip of the resized image, not of the original.
        #expect(real.settings[4].rows[0][0][0...1] == [48, 48])
        #expect(real.settings[4].rows != real.settings[2].rows)
        #expect(settings[4].description == "size-48+jpeg-q80")
        let image = Self.texture(seed: 1, width: 90, height: 60)
        #expect(try settings[4].applied(to: image).pixels == (try settings[1].applied(to: settings[2].applied(to: image))).pixels)
    }

    @Test func generatedImagesTakeTheRealPhotosQualities() throws {
        let image = Self.texture(seed: 4, width: 40, height: 32), other = Self.texture(seed: 5, width: 40, height: 32)
        let setting = ImagePerturbation.jpegAtQualities([60, 95])
        // The quality is one of the list, the same on every call, and the round trip is that quality's.
        let once = try setting.applied(to: image), twice = try setting.applied(to: image)
        #expect(once.pixels == twice.pixels)
        let candidates = try [60, 95].map { try ImagePerturbation.jpeg(quality: $0).applied(to: image).pixels }
        #expect(candidates.contains(once.pixels))
        #expect(try ImagePerturbation.jpegAtQualities([70]).applied(to: other).pixels == (try ImagePerturbation.jpeg(quality: 70).applied(to: other)).pixels)
        #expect(throws: ImageError.self) { _ = try ImagePerturbation.jpegAtQualities([]).applied(to: image) }
    }

    @Test func auditReportsSurvivingSeparationAndPerSourceRates() {
        // Real: two sources; generated: well separated originally, at chance once matched.
        let realNames = ["/d/camera/a.jpg#0", "/d/camera/a.jpg#1", "/d/camera/b.jpg", "/d/scans/c.png", "/d/scans/d.png"]
        let original = SettingScores(
            perturbation: .original,
            real: ScoredSource(name: "real", sampleNames: realNames, logLikelihoods: [10, 11, 12, -10.5, 13]),
            generated: [ScoredSource(name: "gan", sampleNames: ["g1", "g2", "g3"], logLikelihoods: [-10, -11, -12])])
        let matched = SettingScores(
            perturbation: .jpeg(quality: 90),
            real: ScoredSource(name: "real", sampleNames: realNames, logLikelihoods: [1, 2, 3, 4, 5]),
            generated: [ScoredSource(name: "gan", sampleNames: ["g1", "g2", "g3"], logLikelihoods: [1.5, 3.5, 4.5])])
        let audit = BiasAudit(settings: [original, matched], threshold: 0, replicates: 200, seed: 3)
        print(audit.table)
        #expect(audit.rows.count == 2 && !audit.rows[0].matched && audit.rows[1].matched)
        #expect(abs(audit.rows[0].areaUnderCurve - 14.0 / 15) < 1e-12)   // the scan at −10.5 sits below one fake: 14 of 15 pairs
        #expect(audit.rows[0].survivingFraction == nil)
        let left = try! #require(audit.rows[1].survivingFraction)
        #expect(abs(left - (audit.rows[1].areaUnderCurve - 0.5) / (14.0 / 15 - 0.5)) < 1e-12)
        #expect(audit.rows.allSatisfy { $0.interval[0] <= $0.areaUnderCurve + 1e-12 && $0.areaUnderCurve <= $0.interval[1] + 1e-12 })
        #expect(audit.realSources.map(\.source) == ["camera", "scans"])
        #expect(audit.realSources[0].photoCount == 2 && audit.realSources[0].sampleCount == 3 && audit.realSources[0].falsePositiveCount == 0)
        #expect(audit.realSources[1].falsePositiveCount == 1 && audit.realSources[1].falsePositiveRate == 0.5)
        #expect(audit.realSources[1].interval[0] > 0 && audit.realSources[1].interval[1] < 1)
    }
}
