import Benchmark
import BenchmarkSupport
import Tensor

// Softmax on 64 MB (16 Mi floats): along contiguous rows of 4096 (attention scores) and along
// a strided axis (channels of [4, 64, 256, 256]); the fast kernels against the composed reference.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(2),
        maxIterations: 100
    )

    let rows = Lazy { randomTensor([4096, 4096], seed: 1) }
    let channels = Lazy { randomTensor([4, 64, 256, 256], seed: 2) }

    Benchmark("softmax last axis 4096x4096") { benchmark in
        let x = rows.wrappedValue
        benchmark.startMeasurement()
        blackHole(x.softmax(alongAxis: -1))
    }
    Benchmark("softmax.reference last axis 4096x4096") { benchmark in
        let x = rows.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.referenceSoftmax(x, alongAxis: -1))
    }
    Benchmark("softmax channel axis 4x64x256x256") { benchmark in
        let x = channels.wrappedValue
        benchmark.startMeasurement()
        blackHole(x.softmax(alongAxis: 1))
    }
}
