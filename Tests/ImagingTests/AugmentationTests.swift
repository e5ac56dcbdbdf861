import Foundation
import Imaging
import Tensor
import Testing

@Suite struct AugmentationTests {
    /// Impossible configurations are refused on creation, naming the field and the value.
    @Test func impossibleConfigurationsNameTheField() {
        let cases: [(String, () throws(ImageAugmentationError) -> ImageAugmentation)] = [
            ("jpegMinimumQuality", { () throws(ImageAugmentationError) in try ImageAugmentation(jpegProbability: 1, jpegMinimumQuality: 0) }),
            ("jpegMaximumQuality", { () throws(ImageAugmentationError) in try ImageAugmentation(jpegMaximumQuality: 101) }),
            ("jpegMinimumQuality", { () throws(ImageAugmentationError) in try ImageAugmentation(jpegMinimumQuality: 90, jpegMaximumQuality: 70) }),
            ("downscaleMinimumFactor", { () throws(ImageAugmentationError) in try ImageAugmentation(downscaleMinimumFactor: 0) }),
            ("downscaleMaximumFactor", { () throws(ImageAugmentationError) in try ImageAugmentation(downscaleMaximumFactor: 1.5) }),
            ("downscaleMinimumFactor", { () throws(ImageAugmentationError) in try ImageAugmentation(downscaleMinimumFactor: 0.9, downscaleMaximumFactor: 0.5) }),
            ("pngProbability", { () throws(ImageAugmentationError) in try ImageAugmentation(pngProbability: -0.1) }),
            ("jpegProbability", { () throws(ImageAugmentationError) in try ImageAugmentation(jpegProbability: .nan) }),
            ("chroma422Probability", { () throws(ImageAugmentationError) in try ImageAugmentation(chroma422Probability: 2) }),
            ("fullChromaMinimumQuality", { () throws(ImageAugmentationError) in try ImageAugmentation(fullChromaMinimumQuality: 0) }),
        ]
        for (field, make) in cases {
            do {
                _ = try make()
                Issue.record("\(field): an impossible configuration was accepted")
            } catch {
                guard case .invalidValue(let named, _, _) = error else { Issue.record("\(field): \(error)"); continue }
                #expect(named == field, "\(error)")
            }
        }
    }

    /// Decoding validates too: a JSON with an impossible field throws the same typed error.
    @Test func decodingValidates() throws {
        let good = try ImageAugmentation(downscaleProbability: 0.5, downscaleMinimumFactor: 0.5, jpegProbability: 1,
                                         jpegMinimumQuality: 70, jpegMaximumQuality: 95, chroma422Probability: 0.25, pngProbability: 0.2)
        let data = try JSONEncoder().encode(good)
        #expect(try JSONDecoder().decode(ImageAugmentation.self, from: data) == good)
        let bad = Data(#"{"jpegProbability": 1, "jpegMinimumQuality": 0, "jpegMaximumQuality": 90}"#.utf8)
        #expect(throws: ImageAugmentationError.invalidValue(field: "jpegMinimumQuality", value: "0", expected: "a JPEG quality in 1…100")) {
            try JSONDecoder().decode(ImageAugmentation.self, from: bad)
        }
        let reversed = Data(#"{"downscaleMinimumFactor": 0.8, "downscaleMaximumFactor": 0.6}"#.utf8)
        #expect(throws: ImageAugmentationError.self) { try JSONDecoder().decode(ImageAugmentation.self, from: reversed) }
    }

    /// The text form parses, prints back, and refuses impossible or unreadable terms.
    @Test func textFormParsesAndRoundTrips() throws {
        let parsed = try ImageAugmentation(parsing: "jpeg:70-100,downscale:0.5-1,png:0.2")
        #expect(parsed == (try ImageAugmentation(downscaleProbability: 1, downscaleMinimumFactor: 0.5, downscaleMaximumFactor: 1,
                                                 jpegProbability: 1, jpegMinimumQuality: 70, jpegMaximumQuality: 100, pngProbability: 0.2)))
        #expect(parsed.description == "downscale:0.5-1,jpeg:70-100,png:0.2")
        for text in ["none", "jpeg:85", "jpeg:60-90@0.5,chroma444:101,chroma422:0.3", "downscale:0.25@0.75"] {
            let value = try ImageAugmentation(parsing: text)
            #expect(try ImageAugmentation(parsing: value.description) == value, "\(text) → \(value.description)")
        }
        #expect(try ImageAugmentation(parsing: "jpeg:85").jpegMinimumQuality == 85)
        #expect(ImageAugmentation.none.description == "none")
        #expect(throws: ImageAugmentationError.invalidValue(field: "jpegMinimumQuality", value: "0", expected: "a JPEG quality in 1…100")) {
            try ImageAugmentation(parsing: "jpeg:0-100")
        }
        #expect(throws: ImageAugmentationError.invalidValue(field: "jpegMinimumQuality", value: "90", expected: "at most the upper bound (70)")) {
            try ImageAugmentation(parsing: "jpeg:90-70")
        }
        #expect(throws: ImageAugmentationError.invalidValue(field: "downscaleMinimumFactor", value: "0.0", expected: "a downscaling factor in (0, 1]")) {
            try ImageAugmentation(parsing: "downscale:0-1")
        }
        #expect(throws: ImageAugmentationError.invalidValue(field: "pngProbability", value: "1.5", expected: "a probability in [0, 1]")) {
            try ImageAugmentation(parsing: "png:1.5")
        }
        for malformed in ["jpeg", "gif:0.5", "jpeg:70-80,jpeg:90", "jpeg:7.5-80", "png:abc", "jpeg:1-2-3", ""] {
            do {
                _ = try ImageAugmentation(parsing: malformed)
                Issue.record("'\(malformed)' was accepted")
            } catch {
                guard case .malformedTerm = error else { Issue.record("'\(malformed)': \(error)"); continue }
            }
        }
    }

    /// The draws follow the documented rule: same seed, same plans; the quality range and the
    /// chroma rule are honoured; probabilities hold in frequency; six draws per image.
    @Test func plansFollowTheDocumentedDraws() throws {
        let augmentation = try ImageAugmentation(parsing: "downscale:0.5-0.9@0.5,jpeg:70-95,chroma444:90,chroma422:0.5,png:0.25")
        var first = RandomGenerator(seed: 7)
        var second = RandomGenerator(seed: 7)
        let plans = (0..<4000).map { _ in augmentation.plan(using: &first) }
        #expect(plans == (0..<4000).map { _ in augmentation.plan(using: &second) })
        var qualities = Set<Int>()
        for plan in plans {
            let quality = try #require(plan.jpegQuality)
            qualities.insert(quality)
            #expect((70...95).contains(quality))
            #expect(quality >= 90 ? plan.jpegSubsampling == .ratio444 : plan.jpegSubsampling != .ratio444)
            if let factor = plan.downscaleFactor { #expect(factor >= 0.5 && factor <= 0.9) }
        }
        #expect(qualities == Set(70...95), "every quality of the range is drawn")
        let downscaled = Double(plans.filter { $0.downscaleFactor != nil }.count) / 4000
        let png = Double(plans.filter(\.pngRoundTrip).count) / 4000
        let below90 = plans.filter { $0.jpegQuality! < 90 }
        let share422 = Double(below90.filter { $0.jpegSubsampling == .ratio422 }.count) / Double(below90.count)
        #expect(abs(downscaled - 0.5) < 0.04 && abs(png - 0.25) < 0.04 && abs(share422 - 0.5) < 0.05)
        // Exactly six draws per image, whatever the configuration.
        var counted = RandomGenerator(seed: 7)
        _ = ImageAugmentation.none.plan(using: &counted)
        var reference = RandomGenerator(seed: 7)
        for _ in 0..<6 { _ = reference.nextUnitDouble() }
        #expect(counted.next() == reference.next())
    }

    /// Applying a plan is the documented chain of the shared Imaging operations.
    @Test func applicationIsDownscaleThenJPEGThenPNG() throws {
        let image = texturedImage(width: 41, height: 33, seed: 3)
        let plan = AugmentationPlan(downscaleFactor: 0.5, jpegQuality: 72, jpegSubsampling: .ratio422, pngRoundTrip: false)
        let augmented = try plan.applied(to: image)
        let expected = try image.resized(width: 21, height: 17, filter: .bicubic).jpegRoundTrip(quality: 72, subsampling: .ratio422)
        #expect(augmented.image == expected.image && augmented.encoded == expected.encoded)
        let source = try ImageSourceDescription(data: image.encoded(as: .png))
        let described = try augmented.description(source: source)
        #expect(described.header.format == .jpeg && described.header.width == 21 && described.header.height == 17)
        #expect(described.jpeg?.quality.quality == 72 && described.jpeg?.chroma == .ratio422)
        // A PNG round trip is the identity on pixels, but the file becomes a PNG.
        let png = try AugmentationPlan(pngRoundTrip: true).applied(to: image)
        #expect(png.image == image)
        #expect(try png.description(source: source).header.format == .png)
        // Nothing drawn: the image and its description (with the same size) are unchanged.
        let untouched = try AugmentationPlan().applied(to: image)
        #expect(untouched.image == image && untouched.encoded == nil)
        #expect(try untouched.description(source: source) == source)
        // Hand-made impossible plans throw, naming the problem.
        #expect(throws: ImageError.self) { try AugmentationPlan(downscaleFactor: 1.5).applied(to: image) }
        #expect(throws: ImageError.self) { try AugmentationPlan(jpegQuality: 0).applied(to: image) }
    }

    /// The shared degradations: downscale rounding and identity, JPEG of grey and RGBA sources.
    @Test func sharedDegradations() throws {
        let image = texturedImage(width: 10, height: 7, seed: 4)
        #expect(try image.downscaled(by: 1) == image)
        let half = try image.downscaled(by: 0.5)
        #expect(half.width == 5 && half.height == 4)
        #expect(try image.downscaled(by: 0.01).width == 1)
        #expect(throws: ImageError.invalidArgument(path: "<downscale>", detail: "downscaling factor must be in (0, 1], got 0.0")) {
            try image.downscaled(by: 0)
        }
        #expect(throws: ImageError.self) { try image.downscaled(by: .nan) }
        let rgba = Image(width: 2, height: 1, channels: 4, pixels: [10, 20, 30, 255, 40, 50, 60, 0])
        #expect(rgba.convertedToRGB().pixels == [10, 20, 30, 40, 50, 60])
        let greyAlpha = Image(width: 2, height: 1, channels: 2, pixels: [7, 255, 9, 0])
        #expect(greyAlpha.convertedToRGB().pixels == [7, 7, 7, 9, 9, 9])
        let roundTrip = try rgba.jpegRoundTrip(quality: 90)
        #expect(roundTrip.image.channels == 3 && roundTrip.image.width == 2)
        #expect(try ImageSourceDescription(data: roundTrip.encoded).jpeg?.quality.quality == 90)
    }
}
