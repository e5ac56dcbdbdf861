import Foundation
import GrainTestSupport
import Imaging
import NN
import Testing

/// The README's extractor example (also NN.docc's second code block), run when the authors'
/// weights are in ../shared.
@Suite struct ReadmeExampleTests {
    @Test(.enabled(if: SharedData.exists("weights/beyond-generation/basic.pth")
                   && SharedData.exists("data/dev/real/kodim01.png")))
    func extractorExample() throws {
        let weights = SharedData.path("weights/beyond-generation/basic.pth")
        let photo = SharedData.path("data/dev/real/kodim01.png")

        let extractor = try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: weights))
        let image = try Image(contentsOfFile: photo)
        let feature = extractor.features(PatchTokenizer().tokens(image.patchAlignedTensor()))   // [1, 528]
        #expect(feature.shape == [1, 528])
    }
}
