import Diffusion
import Imaging
import NN
import Pretext
import Tensor
import Testing

/// The training jobs' random streams (Pretext's `ExtractorStreams`, Diffusion's
/// `DiffusionStreams`): each in its own range of the table at `RandomGenerator.derivedSeed`, so a
/// program training a denoiser and an extractor under one seed draws each from its own streams,
/// and the extractor's crops are the one crop sampler's (`RandomCrops`).
@Suite struct TrainingStreamTests {
    @Test func extractorAndDenoiserStreamsAreDistinctAndInTheirRanges() {
        let extractor = [ExtractorStreams.extractorInitialization, ExtractorStreams.heads, ExtractorStreams.epochOrder,
                         ExtractorStreams.trainingCrops, ExtractorStreams.validationCrops, ExtractorStreams.validationSplit]
        let denoiser = [DiffusionStreams.autoencoderInitialization, DiffusionStreams.unetInitialization, DiffusionStreams.latentScaling,
                        DiffusionStreams.autoencoderSteps, DiffusionStreams.unetSteps]
        #expect(extractor.allSatisfy { (80_000..<90_000).contains($0) } && Set(extractor).count == extractor.count)
        #expect(denoiser.allSatisfy { (90_000..<100_000).contains($0) } && Set(denoiser).count == denoiser.count)
    }

    @Test func cropSamplerStreamsAreDistinctPerEpochAndSample() {
        var streams: Set<UInt64> = []
        for epoch in 0..<20 { for index in 0..<1_000 { streams.insert(CropSampler.stream(epoch: epoch, index: index)) } }
        #expect(streams.count == 20 * 1_000)
    }

    @Test func cropSamplerCutsTheOneSamplersCrop() throws {
        var pixels: [UInt8] = []
        for y in 0..<70 { for x in 0..<90 { pixels += [UInt8(x), UInt8(y), 7] } }
        let image = Image(width: 90, height: 70, channels: 3, pixels: pixels)
        let sampler = CropSampler(cropSize: 32, seed: 5)
        var generator = RandomGenerator(seed: 5, stream: CropSampler.stream(epoch: 2, index: 9))
        let crop = try RandomCrops(count: 1, fixedSide: 32).crops(of: image, using: &generator)[0]
        #expect(sampler.tokens(image, epoch: 2, index: 9).scalars == PatchTokenizer().tokens(crop.patchAlignedTensor()).scalars)
        #expect(sampler.tokens(image, epoch: 2, index: 9).scalars != sampler.tokens(image, epoch: 3, index: 9).scalars)
    }
}
