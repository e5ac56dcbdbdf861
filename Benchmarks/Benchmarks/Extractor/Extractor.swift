import Benchmark
import BenchmarkSupport
import NN
import Tensor

// The Beyond Generation extractor's forward pass (inference, no tape) on the patch tokens of one
// image: 1,024 patches is a 512×512 image, 256 a 256×256 one. Random weights drawn with PyTorch's
// default initialisation: the arithmetic is the same as with the released weights.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(5),
        maxIterations: 20
    )
    let model = Lazy { () -> LowLevelFeatureExtractor in
        let extractor = LowLevelFeatureExtractor()
        var generator = RandomGenerator(seed: 0)
        extractor.initializeParameters(using: &generator)
        return extractor
    }
    for patches in [256, 1024] {
        let tokens = Lazy { randomTensor([1, patches, 3, 16, 16], seed: 3) }
        Benchmark("extractor.forward \(patches) patches") { benchmark in
            let (extractor, input) = (model.wrappedValue, tokens.wrappedValue)
            benchmark.startMeasurement()
            blackHole(extractor.features(input))
        }
    }
}
