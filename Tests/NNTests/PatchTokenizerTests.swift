import Foundation
import Testing
import Imaging
import Tensor
import NN
import GrainTestSupport

private let fixtures = "fixtures/beyond-generation"

/// Imaging's patch-aligned tensor and NN's tokenizer reproduce the authors' patches exactly (their
/// transposed crop included) and cut the correct crop by default.
@Suite struct PatchTokenizerTests {
    @Test func gridsOfBothCropModes() {
        #expect(CropMode.centered.patchGrid(width: 83, height: 50) == (3, 5))
        #expect(CropMode.authorsCompatible.patchGrid(width: 83, height: 50) == (5, 3))
        #expect(CropMode.centered.patchGrid(width: 10, height: 200) == (1, 1))
    }

    @Test func rasterOrderAndNormalisation() {
        // A 32×16 image: left patch all black, right patch all white.
        var image = Image(width: 32, height: 16, channels: 3, repeating: 0)
        for y in 0..<16 { for x in 16..<32 { for c in 0..<3 { image[x: x, y: y, channel: c] = 255 } } }
        let tokens = PatchTokenizer().tokens(image.patchAlignedTensor())
        #expect(tokens.shape == [1, 2, 3, 16, 16])
        let first = tokens[index: [0, 0, 0, 0, 0]], second = tokens[index: [0, 1, 2, 5, 5]]
        #expect(abs(first - (0 - 0.48145466) / 0.26862954) < 1e-6)
        #expect(abs(second - (1 - 0.40821073) / 0.27577711) < 1e-6)
    }

    @Test func aCapBelowOneIsRefused() {
        #expect(throws: PatchTokenizerError.nonPositivePatchCap(0)) { _ = try PatchTokenizer(maximumPatches: 0) }
        #expect(throws: PatchTokenizerError.nonPositivePatchCap(-3)) {
            _ = try JSONDecoder().decode(PatchTokenizer.self, from: Data(#"{"maximumPatches": -3}"#.utf8))
        }
        #expect(PatchTokenizer().maximumPatches == 19_200)
    }

    @Test func capKeepsTheFirstPatches() throws {
        let image = Image(width: 64, height: 32, channels: 3, repeating: 7)
        #expect(try PatchTokenizer(maximumPatches: 5).tokens(image.patchAlignedTensor()).shape == [1, 5, 3, 16, 16])
    }

    @Test(.enabled(if: SharedData.exists(fixtures), "../shared/fixtures is absent: the authors' patches are not compared"))
    func authorsPatchesAreReproducedExactly() throws {
        let file = try SafeTensors(contentsOf: URL(fileURLWithPath: SharedData.path("\(fixtures)/basic_features.safetensors")))
        for (key, name) in [("img0", "crop64_kodim01.png"), ("img1", "crop83x50_kodim01.png"), ("img2", "crop64x48_glid3.png")] {
            let image = try Image(contentsOfFile: SharedData.path("\(fixtures)/\(name)"))
            let expected = try file.tensor(named: "\(key).patches").unsqueezed(at: 0)
            let tokens = PatchTokenizer().tokens(image.patchAlignedTensor(cropMode: .authorsCompatible))
            expectClose(tokens, expected, rtol: 0, atol: 1e-6, "\(name) patches (authors' crop)")
        }
    }
}
