import Foundation
import Testing
import Imaging
import NN
import Tensor
import Pretext
import GrainTestSupport

private let featuresFile = "fixtures/beyond-generation/basic_features.safetensors"
private let available = SharedData.exists(featuresFile) && SharedData.exists("data/dev")
    && SharedData.exists("weights/beyond-generation/basic.safetensors")

/// End to end from image files: decode → tokens → extractor, against the features the authors'
/// code computed for the same files, with their (transposed) crop and with the correct crop.
@Suite(.enabled(if: available, "../shared fixtures, weights or data/dev are absent: full-image parity not checked"))
struct FullImageFeatureTests {
    @Test func featuresOfFullImagesMatchTheAuthorsCode() throws {
        let fixtures = try SafeTensors(contentsOf: URL(fileURLWithPath: SharedData.path(featuresFile)))
        let model = try LowLevelFeatureExtractor(contentsOf: URL(fileURLWithPath: SharedData.path("weights/beyond-generation/basic.safetensors")))
        let devRoot = SharedData.path("data/dev")
        let files = FileManager.default.enumerator(atPath: devRoot)!.compactMap { $0 as? String }
        var compared = 0
        for (key, json) in fixtures.metadata.sorted(by: { $0.key < $1.key }) where key.hasPrefix("img") {
            let info = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            let name = info["file"] as! String
            guard let relative = files.first(where: { ($0 as NSString).lastPathComponent == name }) else { continue }
            let image = try Image(contentsOfFile: devRoot + "/" + relative)
            for (mode, suffix) in [(CropMode.authorsCompatible, "feature"), (.centered, "feature_fixedcrop")] {
                let tokens = PatchTokenizer().tokens(image.patchAlignedTensor(cropMode: mode))
                let feature = model.features(tokens).reshaped([528])
                let expected = try fixtures.tensor(named: "\(key).\(suffix)")
                let scale = expected.scalars.reduce(Float(0)) { max($0, abs($1)) }
                expectClose(feature, expected, rtol: 1e-4, atol: 1e-5 * scale, "\(name) \(suffix) (\(tokens.shape[1]) patches)")
            }
            compared += 1
        }
        #expect(compared >= 5, "only \(compared) full images found in data/dev")
    }
}
