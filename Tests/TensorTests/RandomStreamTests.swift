import Testing
import Tensor

/// Grain's one seed derivation: stream generators are SplitMix64 finalisations of
/// `seed ^ stream·φ`, so fitted detectors keep the seeds they had before it moved to Tensor.
struct RandomStreamTests {
    @Test func derivedSeedIsTheSplitMixFinaliser() {
        // SplitMix64's finaliser on 0 ^ (1 · 0x9E3779B97F4A7C15) is SplitMix64's first output for
        // seed 0: 0xE220A8397B1DCDAF (Vigna's reference splitmix64.c).
        #expect(RandomGenerator.derivedSeed(0, stream: 1) == 0xE220_A839_7B1D_CDAF)
        #expect(RandomGenerator.derivedSeed(42, stream: 0) != RandomGenerator.derivedSeed(42, stream: 1))
        var a = RandomGenerator(seed: 42, stream: 7)
        var b = RandomGenerator(seed: RandomGenerator.derivedSeed(42, stream: 7))
        #expect((0..<8).map { _ in a.next() } == (0..<8).map { _ in b.next() })
    }
}
