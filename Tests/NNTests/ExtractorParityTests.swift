import Foundation
import Testing
import Tensor
import NN
import GrainTestSupport

private let weightsFolder = "weights/beyond-generation"
private let fixturesFolder = "fixtures/beyond-generation"
private let sharedAvailable = SharedData.exists(weightsFolder) && SharedData.exists(fixturesFolder)

/// Parity of the Swift extractor with the authors' PyTorch release, on their weights and the
/// intermediate activations their code produced (../shared/fixtures/beyond-generation).
@Suite(.enabled(if: sharedAvailable, "../shared/weights and ../shared/fixtures are absent: parity with the authors' release not checked"))
struct ExtractorParityTests {
    func url(_ relative: String) -> URL { URL(fileURLWithPath: SharedData.path(relative)) }

    @Test func srmFiltersEqualTheReleasedBank() throws {
        let file = try SafeTensors(contentsOf: url("\(weightsFolder)/basic.safetensors"))
        let released = try file.tensor(named: "group1.hpf.weight")
        let ours = SRMFilters.weight()
        let (maxAbs, _, _) = closeness(ours.scalars, released.scalars, rtol: 0, atol: 0)
        print("[parity] SRM filters vs group1.hpf.weight: max abs \(maxAbs)")
        #expect(ours.shape == released.shape)
        #expect(maxAbs <= 1e-7, "SRM filters differ from the release by \(maxAbs)")
    }

    @Test(arguments: ["basic", "ft_genimage", "ft_drct2m"])
    func checkpointsLoadStrictlyFromBothFormats(name: String) throws {
        let fromPth = try LowLevelFeatureExtractor(contentsOf: url("\(weightsFolder)/\(name).pth"))
        let fromSafeTensors = try LowLevelFeatureExtractor(contentsOf: url("\(weightsFolder)/\(name).safetensors"))
        let a = fromPth.stateDictionary(), b = fromSafeTensors.stateDictionary()
        #expect(a.count == 69)
        for (key, value) in a { #expect(value.scalars == b[key]?.scalars, "\(name): \(key) differs between .pth and .safetensors") }
        // The released bank equals the published filters in every checkpoint.
        #expect(closeness(a["group1.hpf.weight"]!.scalars, SRMFilters.weight().scalars, rtol: 0, atol: 1e-7).2)
    }

    @Test func everyIntermediateMatchesTheAuthorsCode() throws {
        let model = try LowLevelFeatureExtractor(contentsOf: url("\(weightsFolder)/basic.safetensors"))
        let fixtures = try SafeTensors(contentsOf: url("\(fixturesFolder)/basic_intermediates_crop64.safetensors"))
        var recorded: [String: Tensor] = [:]
        let output = Tensor.withoutGradient {
            model(try! fixtures.tensor(named: "input")) { recorded[$0] = $1 }
        }
        recorded["output"] = output
        let names = ["srm", "group1_b", "group2", "group3", "group4", "group5", "covpool", "sqrtm", "triuvec",
                     "transformer_in", "output"]
        for name in names {
            let expected = try fixtures.tensor(named: name)
            let actual = try #require(recorded[name], "\(name) was not recorded")
            expectParity(actual, expected, name)
        }
    }

    @Test func smallImageFeaturesMatchTheAuthorsCode() throws {
        let model = try LowLevelFeatureExtractor(contentsOf: url("\(weightsFolder)/basic.pth"))
        let fixtures = try SafeTensors(contentsOf: url("\(fixturesFolder)/basic_features.safetensors"))
        let images = fixtures.keys.filter { $0.hasSuffix(".patches") }.map { String($0.dropLast(".patches".count)) }
        #expect(images.count >= 4)
        for image in images.sorted() {
            let patches = try fixtures.tensor(named: "\(image).patches")
            let feature = model.features(patches.unsqueezed(at: 0)).reshaped([528])
            expectParity(feature, try fixtures.tensor(named: "\(image).feature"), "\(image) feature (\(patches.shape[0]) patches)")
        }
    }

    /// Inference runs the patches in chunks of `inferenceChunk`; the descriptors equal those of
    /// one unchunked pass (recording intermediates turns chunking off).
    @Test func chunkedInferenceEqualsOnePass() throws {
        let model = try LowLevelFeatureExtractor(contentsOf: url("\(weightsFolder)/basic.safetensors"))
        let patches = randomTensor([LowLevelFeatureExtractor.inferenceChunk + 37, 3, 16, 16], seed: 7)
        let chunked = Tensor.withoutGradient { model.patchDescriptors(patches) }
        let whole = Tensor.withoutGradient { model.patchDescriptors(patches) { _, _ in } }
        #expect(chunked.shape == [LowLevelFeatureExtractor.inferenceChunk + 37, 528])
        expectClose(chunked, whole, rtol: 1e-5, atol: 1e-6, "chunked vs one pass")
    }

    /// At inference the per-patch stack runs as one pipeline of 16-patch blocks; its descriptors
    /// equal those of the layer-by-layer path (over two pipeline chunks, the last block partial).
    @Test func patchBlocksEqualTheLayerByLayerPath() throws {
        let model = try LowLevelFeatureExtractor(contentsOf: url("\(weightsFolder)/basic.safetensors"))
        #expect(model.patchBlockPipeline() != nil)
        let patches = randomTensor([LowLevelFeatureExtractor.blockInferenceChunk + 21, 3, 16, 16], seed: 8)
        let blocks = Tensor.withoutGradient { model.patchDescriptors(patches) }
        let layers = ConvolutionAlgorithms.$patchBlocksEnabled.withValue(false) {
            Tensor.withoutGradient { model.patchDescriptors(patches) }
        }
        expectParity(blocks, layers, "patch blocks vs layer by layer, \(patches.shape[0]) patches")
    }

    /// Within 1e-4 relative to each element, with an absolute floor of 1e-5 of the tensor's
    /// largest magnitude for elements near zero.
    func expectParity(_ actual: Tensor, _ expected: Tensor, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let scale = expected.scalars.reduce(Float(0)) { max($0, abs($1)) }
        expectClose(actual, expected, rtol: 1e-4, atol: 1e-5 * scale, label, sourceLocation: sourceLocation)
    }
}
