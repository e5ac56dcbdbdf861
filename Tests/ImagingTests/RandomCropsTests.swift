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
