import Benchmark
import BenchmarkSupport
import Tensor

// Activations on 64 MB tensors (16 Mi floats): GELU (exact, erf) is the transcendental-bound
// one; ReLU and SiLU for scale.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(2),
        maxIterations: 100
    )

    let input = Lazy { randomTensor([4, 64, 256, 256], seed: 1) }

    Benchmark("gelu 16Mi") { benchmark in
        let x = input.wrappedValue
        benchmark.startMeasurement()
        blackHole(x.gelu())
    }
    Benchmark("geluTanh 16Mi") { benchmark in
        let x = input.wrappedValue
        benchmark.startMeasurement()
        blackHole(x.geluTanh())
    }
    Benchmark("silu 16Mi") { benchmark in
        let x = input.wrappedValue
        benchmark.startMeasurement()
        blackHole(x.silu())
    }
    Benchmark("relu 16Mi") { benchmark in
        let x = input.wrappedValue
        benchmark.startMeasurement()
        blackHole(x.relu())
    }
}
