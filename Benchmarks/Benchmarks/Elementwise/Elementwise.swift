import Benchmark
import BenchmarkSupport
import Tensor

// Element-wise arithmetic on 64 MB tensors (16 Mi floats), memory-bound: equal shapes, a scalar
// operand, and a per-channel broadcast ([C, 1, 1] against [N, C, H, W], as a bias add).

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(2),
        maxIterations: 100
    )

    let shape = [4, 64, 256, 256]
    let operands = Lazy { (randomTensor(shape, seed: 1), randomTensor(shape, seed: 2)) }
    let channelBias = Lazy { randomTensor([64, 1, 1], seed: 3) }

    Benchmark("add 16Mi") { benchmark in
        let (a, b) = operands.wrappedValue
        benchmark.startMeasurement()
        blackHole(a + b)
    }
    Benchmark("multiply 16Mi") { benchmark in
        let (a, b) = operands.wrappedValue
        benchmark.startMeasurement()
        blackHole(a * b)
    }
    Benchmark("multiply scalar 16Mi") { benchmark in
        let (a, _) = operands.wrappedValue
        benchmark.startMeasurement()
        blackHole(a * 1.5)
    }
    Benchmark("add channel bias 16Mi") { benchmark in
        let (a, _) = operands.wrappedValue
        let bias = channelBias.wrappedValue
        benchmark.startMeasurement()
        blackHole(a + bias)
    }
}
