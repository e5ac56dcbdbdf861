import Benchmark
import BenchmarkSupport
import Tensor

// Layer and group normalisation on 64 MB tensors [4, 64, 256, 256]: layer norm over [C, H, W]
// with an element-wise affine of that shape (as the extractor's LayerNorm), group norm with 32
// groups and a per-channel affine (as Stable Diffusion's); each against its composed reference.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(2),
        maxIterations: 100
    )

    let shape = [4, 64, 256, 256]
    let input = Lazy { randomTensor(shape, seed: 1) }
    let layerAffine = Lazy { (randomTensor([64, 256, 256], seed: 2), randomTensor([64, 256, 256], seed: 3)) }
    let groupAffine = Lazy { (randomTensor([64], seed: 2), randomTensor([64], seed: 3)) }

    Benchmark("layerNorm [C,H,W] 16Mi") { benchmark in
        let x = input.wrappedValue, (w, b) = layerAffine.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.layerNorm(x, normalizedShape: [64, 256, 256], weight: w, bias: b))
    }
    Benchmark("layerNorm.reference [C,H,W] 16Mi") { benchmark in
        let x = input.wrappedValue, (w, b) = layerAffine.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.referenceLayerNorm(x, normalizedShape: [64, 256, 256], weight: w, bias: b))
    }
    Benchmark("groupNorm 32 groups 16Mi") { benchmark in
        let x = input.wrappedValue, (w, b) = groupAffine.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.groupNorm(x, groups: 32, weight: w, bias: b))
    }
    Benchmark("groupNorm.reference 32 groups 16Mi") { benchmark in
        let x = input.wrappedValue, (w, b) = groupAffine.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.referenceGroupNorm(x, groups: 32, weight: w, bias: b))
    }
}
