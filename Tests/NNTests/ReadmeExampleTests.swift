import Foundation
import GrainTestSupport
import Imaging
import NN
import Pretext
import Testing

/// The code block of Pretext.docc, run when the authors' weights are in ../shared.
@Suite struct PretextDocumentationExampleTests {
    @Test(.enabled(if: SharedData.exists("weights/beyond-generation/basic.pth")
                   && SharedData.exists("data/dev/real/kodim01.png")))
    func overviewExample() throws {
        let weights = SharedData.path("weights/beyond-generation/basic.pth")
        let photo = SharedData.path("data/dev/real/kodim01.png")

        let extractor = try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: weights))
        let tokens = PatchTokenizer().tokens(try Image(contentsOfFile: photo))
        let feature = extractor.features(tokens)   // [1, 528]
        #expect(feature.shape == [1, 528])
    }
}
