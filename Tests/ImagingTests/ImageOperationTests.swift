import Foundation
import Testing
import Tensor
@testable import Imaging

@Suite("Image operations")
struct ImageOperationTests {
    static func pattern(width: Int, height: Int, channels: Int) -> Image {
        Image(width: width, height: height, channels: channels,
              pixels: (0..<width * height * channels).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
    }

    @Test("crop copies the region")
    func crop() {
        let image = Self.pattern(width: 9, height: 7, channels: 3)
        let crop = image.cropped(x: 2, y: 3, width: 4, height: 3)
        #expect(crop.width == 4 && crop.height == 3 && crop.channels == 3)
        for y in 0..<3 {
            for x in 0..<4 {
                for c in 0..<3 { #expect(crop[x: x, y: y, channel: c] == image[x: x + 2, y: y + 3, channel: c]) }
            }
        }
        #expect(image.cropped(x: 0, y: 0, width: 9, height: 7) == image)
    }

    @Test("centre crop offsets round half to even, as torchvision")
    func centerCrop() {
        let image = Self.pattern(width: 10, height: 9, channels: 1)
        // (10 − 5) / 2 = 2.5 → 2; (9 − 4) / 2 = 2.5 → 2; (9 − 2) / 2 = 3.5 → 4.
        #expect(image.centerCropped(width: 5, height: 4) == image.cropped(x: 2, y: 2, width: 5, height: 4))
        #expect(image.centerCropped(width: 10, height: 2) == image.cropped(x: 0, y: 4, width: 10, height: 2))
    }

    @Test("Tensor(image) is [C, H, W] of sample / 255, and Image(tensor) inverts it")
    func tensorRoundTrip() {
        for channels in [1, 3, 4] {
            let image = Self.pattern(width: 5, height: 4, channels: channels)
            let tensor = image.tensor()
            #expect(tensor.shape == [channels, 4, 5])
            for c in 0..<channels {
                for y in 0..<4 {
                    for x in 0..<5 {
                        #expect(tensor[index: [c, y, x]] == Float(image[x: x, y: y, channel: c]) / 255)
                    }
                }
            }
            #expect(Image(tensor) == image)
        }
    }

    @Test("Image(tensor) rounds and clamps; NaN gives 0")
    func tensorToImageClamps() {
        let values: [Float] = [-0.5, 0, 0.5, 0.2, 1, 1.7, .nan, .infinity, -.infinity]
        let image = Image(Tensor(shape: [1, 1, values.count], scalars: values))
        #expect(image.pixels == [0, 0, 128, 51, 255, 255, 0, 255, 0])
    }

    @Test("pixel digest is SHA-256 of the samples")
    func digest() {
        // SHA-256("abc") and SHA-256 of 1,000 bytes spanning the two-block padding path.
        let abc = Image(width: 3, height: 1, channels: 1, pixels: Array("abc".utf8))
        #expect(abc.pixelDigest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let a56 = Image(width: 56, height: 1, channels: 1, pixels: Array(repeating: 0x61, count: 56))
        #expect(a56.pixelDigest == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
    }
}
