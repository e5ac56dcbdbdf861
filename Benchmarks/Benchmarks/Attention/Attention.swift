import Benchmark
import BenchmarkSupport
import Tensor

// Scaled dot-product attention at the Stable Diffusion U-Net's self-attention shapes (8 heads of
// width 40; 1024 tokens at 32×32, 4096 at 64×64): the naive full score matrix (`matmul`,
// `softmax`, `matmul`; only at 1024, where its scores take 32 MB) against the chunked kernel.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(2),
        maxIterations: 50
    )

    for tokens in [1024, 4096] {
        let operands = Lazy {
            (randomTensor([1, 8, tokens, 40], seed: 1), randomTensor([1, 8, tokens, 40], seed: 2),
             randomTensor([1, 8, tokens, 40], seed: 3))
        }
        if tokens == 1024 {
            Benchmark("attention.reference 8x\(tokens)x40") { benchmark in
                let (q, k, v) = operands.wrappedValue
                benchmark.startMeasurement()
                blackHole(Tensor.referenceScaledDotProductAttention(query: q, key: k, value: v))
            }
        }
        Benchmark("attention 8x\(tokens)x40") { benchmark in
            let (q, k, v) = operands.wrappedValue
            benchmark.startMeasurement()
            blackHole(Tensor.scaledDotProductAttention(query: q, key: k, value: v))
        }
    }
}
