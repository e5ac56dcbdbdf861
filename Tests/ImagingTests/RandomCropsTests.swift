import Imaging
import Tensor
import Testing

/// Random crops for fitting: inside the image, the right size, reproducible from the seed.
@Suite struct RandomCropsTests {
    /// An image whose pixel (x, y) stores x and y, so a crop reveals where it came from.
    func coordinateImage(width: Int, height: Int) -> Image {
        var pixels: [UInt8] = []
        for y in 0..<height { for x in 0..<width { pixels += [UInt8(x), UInt8(y), 0] } }
        return Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    @Test func cropsLieInsideTheImageAndCoverEveryPosition() {
        let image = coordinateImage(width: 40, height: 24)
        var generator = RandomGenerator(seed: 1)
        let crops = RandomCrops(count: 2_000, size: 16).crops(of: image, using: &generator)
        #expect(crops.count == 2_000)
        var lefts = Set<Int>(), tops = Set<Int>()
        for crop in crops {
            #expect(crop.width == 16 && crop.height == 16)
            let left = Int(crop[x: 0, y: 0, channel: 0]), top = Int(crop[x: 0, y: 0, channel: 1])
            #expect(crop == image.cropped(x: left, y: top, width: 16, height: 16))
            lefts.insert(left)
            tops.insert(top)
        }
        #expect(lefts == Set(0...24) && tops == Set(0...8))  // W − 16 + 1 and H − 16 + 1 positions
    }

    @Test func seedFixesTheCropsAndZeroMeansTheWholeImage() {
        let image = coordinateImage(width: 100, height: 70)
        var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9), c = RandomGenerator(seed: 10)
        let crops = RandomCrops(count: 5, size: 32)
        #expect(crops.crops(of: image, using: &a) == crops.crops(of: image, using: &b))
        #expect(crops.crops(of: image, using: &a) != crops.crops(of: image, using: &c))
        #expect(RandomCrops.wholeImage.crops(of: image, using: &a) == [image])
    }

    @Test func sidesShorterThanTheCropAreKeptWhole() {
        let image = coordinateImage(width: 20, height: 50)
        var generator = RandomGenerator(seed: 2)
        for crop in RandomCrops(count: 10, size: 32).crops(of: image, using: &generator) {
            #expect(crop.width == 20 && crop.height == 32 && crop[x: 0, y: 0, channel: 0] == 0)
        }
    }
}

/// The one crop sampler's other entry points: rectangles for callers that crop something other
/// than an `Image`, crops pooled over several images, and fixed sides with typed validation.
@Suite struct RandomCropsSamplerTests {
    func coordinateImage(width: Int, height: Int, tag: UInt8) -> Image {
        var pixels: [UInt8] = []
        for y in 0..<height { for x in 0..<width { pixels += [UInt8(x), UInt8(y), tag] } }
        return Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    @Test func rectanglesAreWhereTheCropsAreCut() {
        let image = coordinateImage(width: 90, height: 60, tag: 0)
        var a = RandomGenerator(seed: 4), b = RandomGenerator(seed: 4)
        let sampler = try! RandomCrops(count: 6, sizes: 16...48)
        let rectangles = sampler.rectangles(width: 90, height: 60, using: &a)
        #expect(sampler.crops(of: image, using: &b) == rectangles.map { image.cropped(x: $0.x, y: $0.y, width: $0.width, height: $0.height) })
        #expect(RandomCrops.wholeImage.rectangles(width: 90, height: 60, using: &a) == [CropRectangle(x: 0, y: 0, width: 90, height: 60)])
    }

    @Test func pooledCropsDrawAnImageThenAPosition() throws {
        let images = (0..<3).map { coordinateImage(width: 40 + 10 * $0, height: 30, tag: UInt8($0)) }
        var generator = RandomGenerator(seed: 8), again = RandomGenerator(seed: 8)
        let sampler = try RandomCrops(count: 300, fixedSide: 20)
        let crops = sampler.crops(from: images, using: &generator)
        #expect(crops.count == 300 && crops == sampler.crops(from: images, using: &again))
        var used = Set<UInt8>()
        for crop in crops {
            let tag = crop[x: 0, y: 0, channel: 2], left = Int(crop[x: 0, y: 0, channel: 0]), top = Int(crop[x: 0, y: 0, channel: 1])
            #expect(crop == images[Int(tag)].cropped(x: left, y: top, width: 20, height: 20))
            used.insert(tag)
        }
        #expect(used == [0, 1, 2])
        #expect(sampler.crops(from: [], using: &generator).isEmpty)
    }

    @Test func fixedSidesNeedNotBeMultiplesOf16ButBadValuesAreTypedErrors() throws {
        var generator = RandomGenerator(seed: 1)
        let crops = try RandomCrops(count: 2, fixedSide: 10).crops(of: coordinateImage(width: 30, height: 30, tag: 0), using: &generator)
        #expect(crops.allSatisfy { $0.width == 10 && $0.height == 10 })
        #expect(throws: RandomCropsError.self) { try RandomCrops(count: -1, fixedSide: 10) }
        #expect(throws: RandomCropsError.self) { try RandomCrops(count: 1, fixedSide: 0) }
    }
}
