import Benchmark
import BenchmarkSupport
import Tensor

// 3×3, padding-1 convolutions at batch 1: the naive reference loop at one small shape against
// `Tensor.conv2d` (im2col + sgemm) at the Stable Diffusion U-Net and VAE shapes.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(2),
        maxIterations: 50
    )

    let small = ConvolutionShape(channels: 32, size: 16)
    let smallOperands = Lazy {
        (randomTensor([1, small.channels, small.size, small.size], seed: 1),
         randomTensor([small.channels, small.channels, 3, 3], seed: 2))
    }
    Benchmark("conv2d.reference \(small.label)") { benchmark in
        let (x, w) = smallOperands.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.referenceConv2d(x, weight: w, padding: (1, 1)))
    }
    Benchmark("conv2d \(small.label)") { benchmark in
        let (x, w) = smallOperands.wrappedValue
        benchmark.startMeasurement()
        blackHole(Tensor.conv2d(x, weight: w, padding: 1))
    }

    for shape in ConvolutionShape.stableDiffusion {
        let operands = Lazy {
            (randomTensor([1, shape.channels, shape.size, shape.size], seed: 1),
             randomTensor([shape.channels, shape.channels, 3, 3], seed: 2),
             randomTensor([shape.channels], seed: 3))
        }
        Benchmark("conv2d \(shape.label)") { benchmark in
            let (x, w, b) = operands.wrappedValue
            benchmark.startMeasurement()
            blackHole(Tensor.conv2d(x, weight: w, bias: b, padding: 1))
        }
    }
}
