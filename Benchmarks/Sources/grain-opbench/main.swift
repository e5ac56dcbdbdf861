// grain-opbench: times Grain's ops at fixed shapes and prints one JSON line per measurement,
// {"op", "shape", "seconds", "median", "repeats", "bytes"?, "flops"?}, for Scripts/compare.
//
// Each op runs once or twice to warm up, then `--repeats` times; `seconds` is the best time and
// `median` the median. Two machine baselines are measured in the same process:
//   cblas_sgemm   the raw BLAS call on preallocated buffers, with OpenBLAS's own threads (as many
//                 as Grain's workers; Grain itself runs OpenBLAS single-threaded and splits large
//                 products over its workers), the bar for `matmul`, timed by the `matmul` op
//                 alternately with `Tensor.matmul`
//   memcpy        a 64 MB copy between preallocated, already-touched buffers (the bar for the
//                 memory-bound ops; its `bytes` counts the read and the write)
//
// Usage: grain-opbench [--repeats N] [--only op1,op2,…] [--list]

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BenchmarkSupport
import Tensor

// MARK: Timing

/// Seconds on the monotonic clock.
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Best and median wall time of `body` over `repeats` runs after `warmup` unmeasured runs.
func measure(repeats: Int, warmup: Int = 1, _ body: () -> Void) -> (best: Double, median: Double) {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    for _ in 0..<max(repeats, 1) {
        let start = now()
        body()
        times.append(now() - start)
    }
    times.sort()
    return (times[0], times[times.count / 2])
}

/// Best and median wall times of `first` and `second`, run alternately `repeats` times each
/// after `warmup` unmeasured rounds, so that a change in machine load hits both alike.
func measurePair(repeats: Int, warmup: Int = 1, _ first: () -> Void, _ second: () -> Void)
    -> (first: (best: Double, median: Double), second: (best: Double, median: Double)) {
    for _ in 0..<warmup { first(); second() }
    var firstTimes: [Double] = [], secondTimes: [Double] = []
    for _ in 0..<max(repeats, 1) {
        var start = now()
        first()
        firstTimes.append(now() - start)
        start = now()
        second()
        secondTimes.append(now() - start)
    }
    firstTimes.sort()
    secondTimes.sort()
    return ((firstTimes[0], firstTimes[firstTimes.count / 2]), (secondTimes[0], secondTimes[secondTimes.count / 2]))
}

/// Keeps the optimiser from discarding a result.
@inline(never)
func consume<T>(_ value: T) { withExtendedLifetime(value) {} }

/// Prints one JSON line.
func report(op: String, shape: String, _ time: (best: Double, median: Double), repeats: Int,
            bytes: Double? = nil, flops: Double? = nil) {
    var line = "{\"op\": \"\(op)\", \"shape\": \"\(shape)\", \"seconds\": \(time.best), \"median\": \(time.median), \"repeats\": \(repeats)"
    if let bytes { line += ", \"bytes\": \(bytes)" }
    if let flops { line += ", \"flops\": \(flops)" }
    print(line + "}")
    fflush(nil)
}

// MARK: Raw BLAS, looked up in the process (Tensor links OpenBLAS)

typealias SgemmFunction = @convention(c) (
    Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
    UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void

/// `cblas_sgemm` resolved with `dlsym`, so that the raw call needs no C module of its own.
let rawSgemm: SgemmFunction = {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "cblas_sgemm") else {
        fatalError("grain-opbench: cblas_sgemm not found in the process")
    }
    return unsafeBitCast(symbol, to: SgemmFunction.self)
}()

/// `openblas_set_num_threads`, resolved the same way: the raw baseline runs with OpenBLAS's own
/// threads, then hands OpenBLAS back to Grain single-threaded.
let setBLASThreads: @convention(c) (Int32) -> Void = {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "openblas_set_num_threads") else {
        fatalError("grain-opbench: openblas_set_num_threads not found in the process")
    }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Void).self)
}()

// MARK: Ops

/// The shape of the memory-bound ops: 16 Mi floats, 64 MB.
let bandwidthShape = [4, 64, 256, 256]
let bandwidthCount = bandwidthShape.reduce(1, *)
let megabytes64 = Double(bandwidthCount * MemoryLayout<Float>.size)

struct Op {
    let name: String
    let run: (_ repeats: Int) -> Void
}

let ops: [Op] = [
    Op(name: "matmul") { repeats in
        // Tensor.matmul and the raw cblas_sgemm on preallocated buffers, interleaved run by run
        // so that both see the same machine load; reported as two ops.
        for n in [512, 1024, 2048] {
            let a = randomTensor([n, n], seed: 1), b = randomTensor([n, n], seed: 2)
            let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
            c.initialize(repeating: 0, count: n * n)
            defer { c.deallocate() }
            let n32 = Int32(n)
            let (raw, grain) = a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    measurePair(repeats: repeats, warmup: 2,
                                {
                                    setBLASThreads(Int32(Parallel.threadCount))
                                    rawSgemm(101, 111, 111, n32, n32, n32, 1, pa.baseAddress, n32, pb.baseAddress, n32, 0, c, n32)
                                    setBLASThreads(1)
                                },
                                { consume(Tensor.matmul(a, b)) })
                }
            }
            report(op: "cblas_sgemm", shape: "\(n)", raw, repeats: repeats, flops: 2 * Double(n * n * n))
            report(op: "matmul", shape: "\(n)", grain, repeats: repeats, flops: 2 * Double(n * n * n))
        }
    },
    Op(name: "conv2d") { repeats in
        for shape in ConvolutionShape.stableDiffusion {
            let x = randomTensor([1, shape.channels, shape.size, shape.size], seed: 1)
            let w = randomTensor([shape.channels, shape.channels, 3, 3], seed: 2)
            let b = randomTensor([shape.channels], seed: 3)
            let time = measure(repeats: repeats) { consume(Tensor.conv2d(x, weight: w, bias: b, padding: 1)) }
            report(op: "conv2d", shape: shape.label, time, repeats: repeats, flops: shape.flops)
        }
    },
    Op(name: "memcpy") { repeats in
        let source = UnsafeMutableRawPointer.allocate(byteCount: Int(megabytes64), alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: Int(megabytes64), alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        memset(source, 1, Int(megabytes64))
        memset(destination, 0, Int(megabytes64))
        let time = measure(repeats: repeats, warmup: 2) { memcpy(destination, source, Int(megabytes64)) }
        report(op: "memcpy", shape: "64MB", time, repeats: repeats, bytes: 2 * megabytes64)
    },
    Op(name: "add") { repeats in
        let a = randomTensor(bandwidthShape, seed: 1), b = randomTensor(bandwidthShape, seed: 2)
        let time = measure(repeats: repeats, warmup: 2) { consume(a + b) }
        report(op: "add", shape: "4x64x256x256", time, repeats: repeats, bytes: 3 * megabytes64)
    },
    Op(name: "mul") { repeats in
        let a = randomTensor(bandwidthShape, seed: 1), b = randomTensor(bandwidthShape, seed: 2)
        let time = measure(repeats: repeats, warmup: 2) { consume(a * b) }
        report(op: "mul", shape: "4x64x256x256", time, repeats: repeats, bytes: 3 * megabytes64)
    },
    Op(name: "gelu") { repeats in
        let x = randomTensor(bandwidthShape, seed: 1)
        let time = measure(repeats: repeats, warmup: 2) { consume(x.gelu()) }
        report(op: "gelu", shape: "4x64x256x256", time, repeats: repeats, bytes: 2 * megabytes64)
    },
    Op(name: "layer_norm") { repeats in
        // Over [C, H, W] with an element-wise affine of that shape: x, γ, β read, y written.
        let x = randomTensor(bandwidthShape, seed: 1)
        let normalized = Array(bandwidthShape.dropFirst())
        let w = randomTensor(normalized, seed: 2), b = randomTensor(normalized, seed: 3)
        let time = measure(repeats: repeats, warmup: 2) {
            consume(Tensor.layerNorm(x, normalizedShape: normalized, weight: w, bias: b))
        }
        report(op: "layer_norm", shape: "4x64x256x256", time, repeats: repeats, bytes: 2 * megabytes64 + megabytes64 / 2)
    },
    Op(name: "group_norm") { repeats in
        let x = randomTensor(bandwidthShape, seed: 1)
        let w = randomTensor([bandwidthShape[1]], seed: 2), b = randomTensor([bandwidthShape[1]], seed: 3)
        let time = measure(repeats: repeats, warmup: 2) { consume(Tensor.groupNorm(x, groups: 32, weight: w, bias: b)) }
        report(op: "group_norm", shape: "4x64x256x256 g32", time, repeats: repeats, bytes: 2 * megabytes64)
    },
    Op(name: "softmax") { repeats in
        let x = randomTensor([4096, 4096], seed: 1)
        let time = measure(repeats: repeats, warmup: 2) { consume(x.softmax(alongAxis: -1)) }
        report(op: "softmax", shape: "4096x4096 last", time, repeats: repeats, bytes: 2 * megabytes64)
    },
    Op(name: "attention") { repeats in
        // Stable Diffusion U-Net self-attention: 8 heads of width 40; 4·L·S·E flops per head.
        for tokens in [1024, 4096] {
            let q = randomTensor([1, 8, tokens, 40], seed: 1), k = randomTensor([1, 8, tokens, 40], seed: 2)
            let v = randomTensor([1, 8, tokens, 40], seed: 3)
            let time = measure(repeats: repeats) { consume(Tensor.scaledDotProductAttention(query: q, key: k, value: v)) }
            report(op: "attention", shape: "8x\(tokens)x40", time, repeats: repeats,
                   flops: 4 * 8 * Double(tokens) * Double(tokens) * 40)
        }
    },
]

// MARK: Main

var repeats = 10
var only: Set<String>? = nil
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--repeats":
        guard let value = arguments.next().flatMap({ Int($0) }), value > 0 else {
            fatalError("grain-opbench: --repeats needs a positive integer")
        }
        repeats = value
    case "--only":
        guard let value = arguments.next() else { fatalError("grain-opbench: --only needs a comma-separated list") }
        only = Set(value.split(separator: ",").map(String.init))
    case "--list":
        for op in ops { print(op.name) }
        exit(0)
    default:
        fatalError("grain-opbench: unknown argument \(argument) (use --repeats N, --only a,b, --list)")
    }
}
if let only {
    let unknown = only.subtracting(ops.map(\.name))
    if !unknown.isEmpty { fatalError("grain-opbench: unknown ops \(unknown.sorted()); --list shows them") }
}
for op in ops where only?.contains(op.name) ?? true {
    op.run(repeats)
}
