import Benchmark
import BenchmarkSupport
import Tensor

// Matrix products: the naive triple loop (`Tensor.referenceGemm`, only at 256 — it is ~100×
// slower) against `Tensor.matmul` (cblas_sgemm) on square n × n float32 matrices.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(2),
        maxIterations: 100
    )

    for n in [256, 512, 1024] {
        let operands = Lazy { (randomTensor([n, n], seed: 1), randomTensor([n, n], seed: 2)) }
        if n == 256 {
            Benchmark("matmul.reference \(n)") { benchmark in
                let (a, b) = operands.wrappedValue
                var c = Tensor(uninitializedShape: [n, n])
                benchmark.startMeasurement()
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            Tensor.referenceGemm(pa.baseAddress!, transposeA: false, pb.baseAddress!, transposeB: false,
                                                 m: n, n: n, k: n, into: pc.baseAddress!)
                        }
                    }
                }
                benchmark.stopMeasurement()
                blackHole(c)
            }
        }
        Benchmark("matmul.blas \(n)") { benchmark in
            let (a, b) = operands.wrappedValue
            benchmark.startMeasurement()
            blackHole(Tensor.matmul(a, b))
        }
    }
}
