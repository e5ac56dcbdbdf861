import Benchmark
import BenchmarkSupport
import Tensor

// Activations on 64 MB tensors (16 Mi floats): GELU (exact) vectorised against its per-element
// Foundation `erf` reference; the tanh GELU, SiLU and ReLU for scale.

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
    Benchmark("gelu.reference 16Mi") { benchmark in
        let x = input.wrappedValue
        benchmark.startMeasurement()
        blackHole(x.referenceGelu())
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
