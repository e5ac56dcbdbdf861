import Benchmark
import BenchmarkSupport
import Tensor

// 2-D pooling on a [1, 128, 128, 128] map (8 MB): the fast kernels against the naive references,
// with the extractor's AvgPool(k3, s2, p1) and the usual MaxPool(k2, s2).

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(2),
        maxIterations: 100
    )

    let input = Lazy { randomTensor([1, 128, 128, 128], seed: 1) }
    Benchmark("avgPool2d k3 s2 p1") { benchmark in
        let x = input.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.avgPool2d(x, kernelSize: 3, stride: 2, padding: 1))
    }
    Benchmark("avgPool2d.reference k3 s2 p1") { benchmark in
        let x = input.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.referenceAvgPool2d(x, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)))
    }
    Benchmark("maxPool2d k2 s2") { benchmark in
        let x = input.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.maxPool2d(x, kernelSize: 2, stride: 2))
    }
    Benchmark("maxPool2d.reference k2 s2") { benchmark in
        let x = input.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.referenceMaxPool2d(x, kernelSize: (2, 2), stride: (2, 2)))
    }
}
