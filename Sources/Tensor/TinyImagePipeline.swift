// A chain of per-image operations on many tiny images, run 16 images at a time without leaving
// the image-fastest layout of `TinyImageBlock`: the extractor's per-patch stack (SRM bank,
// convolutions, layer norms with their clamps, average pooling) at inference. Each step reads a
// block and writes the next one's image positions, so there is no copy into and out of the
// layout around every convolution, and layer norm, clamp and pooling are whole-vector arithmetic
// across the 16 images. Every step computes what its tensor op computes (the same formulas; sums
// in another order, so within float32 rounding of it); the tests compare the two.

/// Per-image operations on `[N, C, H, W]` images chained in ``TinyImageBlock``s of 16 images;
/// inference only (no gradient).
///
/// ```swift
/// let stack = TinyImagePipeline(steps: [.convolution(weight: w, bias: b),
///                                       .layerNorm(weight: g, bias: β, epsilon: 1e-5, clamp: 0...Float.infinity),
///                                       .averagePool],
///                               channels: 32, height: 16, width: 16)!
/// let pooled = stack(maps)   // [N, 32, 16, 16] → [N, 32, 8, 8]
/// ```
package struct TinyImagePipeline: @unchecked Sendable {
    /// One per-image operation.
    package enum Step {
        /// Each channel filtered with each of `F` single-channel `k×k` filters (`weight`
        /// `[F, 1, k, k]`, `k` odd, zero padding `k/2`, no bias): `C → C·F` channels, channel
        /// `c·F + f` (as a grouped convolution of `[N·C, 1, H, W]`).
        case channelFilters(weight: Tensor)
        /// A 3×3 convolution, stride 1, zero padding 1: `weight` `[O, C, 3, 3]`, `bias` `[O]`.
        case convolution(weight: Tensor, bias: Tensor?)
        /// Layer normalisation over each image's `[C, H, W]` (γ and β of that shape, 1 and 0 when
        /// `nil`), then clamped to `clamp` when given (`0...∞` is ReLU: NaN gives 0).
        case layerNorm(weight: Tensor?, bias: Tensor?, epsilon: Float, clamp: ClosedRange<Float>?)
        /// 3×3 average pooling, stride 2, zero padding 1, the zeros counted (PyTorch's defaults).
        case averagePool
    }

    /// A step with its operands resolved.
    private enum Kernel {
        case channelFilters(taps: [(filter: Int, dy: Int, dx: Int, weight: Float)], filters: Int)
        case convolution(TinyImageWinograd, filters: Tensor, bias: Tensor?)
        case layerNorm(weight: Tensor?, bias: Tensor?, epsilon: Float, clamp: ClosedRange<Float>?)
        case averagePool
    }

    /// A kernel, the blocks it reads and writes (indices into the worker's buffers; the same for a
    /// step done in place) and their layouts.
    private struct Stage {
        let kernel: Kernel
        let source: Int, target: Int
        let input: TinyImageBlock, output: TinyImageBlock
    }

    private let stages: [Stage]
    private let buffers: [TinyImageBlock]
    private let inputLayout: TinyImageBlock, outputLayout: TinyImageBlock
    private let inputBuffer: Int, outputBuffer: Int

    /// Channels of each output image.
    package var outputChannels: Int { outputLayout.channels }
    /// Height of each output image.
    package var outputHeight: Int { outputLayout.height }
    /// Width of each output image.
    package var outputWidth: Int { outputLayout.width }

    /// The pipeline of `steps` for images of `channels × height × width`; `nil` when a step does
    /// not fit its input (channel counts, operand shapes, an even filter side, a map too small
    /// for a convolution) or `steps` is empty.
    package init?(steps: [Step], channels: Int, height: Int, width: Int) {
        guard !steps.isEmpty, channels > 0, height > 0, width > 0 else { return nil }
        // Forward: each step's output extents.
        var extents: [(c: Int, h: Int, w: Int)] = [(channels, height, width)]
        for step in steps {
            let (c, h, w) = extents[extents.count - 1]
            switch step {
            case .channelFilters(let weight):
                guard weight.rank == 4, weight.shape[1] == 1, weight.shape[2] == weight.shape[3], weight.shape[2] % 2 == 1
                else { return nil }
                extents.append((c * weight.shape[0], h, w))
            case .convolution(let weight, let bias):
                guard weight.shape == [weight.shape[0], c, 3, 3], weight.shape[0] > 0, h >= 2, w >= 2,
                      bias == nil || bias!.shape == [weight.shape[0]] else { return nil }
                extents.append((weight.shape[0], h, w))
            case .layerNorm(let weight, let bias, _, _):
                guard weight == nil || weight!.shape == [c, h, w], bias == nil || bias!.shape == [c, h, w] else { return nil }
                extents.append((c, h, w))
            case .averagePool:
                extents.append((c, (h - 1) / 2 + 1, (w - 1) / 2 + 1))
            }
        }
        // Backward: the layout each step reads (its frame is what the step needs).
        var reads = [TinyImageBlock?](repeating: nil, count: steps.count + 1)
        let (lastC, lastH, lastW) = extents[steps.count]
        reads[steps.count] = TinyImageBlock(channels: lastC, height: lastH, width: lastW, border: 0)
        for index in stride(from: steps.count - 1, through: 0, by: -1) {
            let (c, h, w) = extents[index]
            switch steps[index] {
            case .channelFilters(let weight):
                reads[index] = TinyImageBlock(channels: c, height: h, width: w, border: weight.shape[2] / 2)
            case .convolution:
                reads[index] = TinyImageBlock(channels: c, height: h, width: w, top: 1, left: 1,
                                              rows: 2 * ((h + 1) / 2) + 2, columns: 2 * ((w + 1) / 2) + 2)
            case .layerNorm:
                reads[index] = reads[index + 1]   // in place: whatever the next step reads
            case .averagePool:
                reads[index] = TinyImageBlock(channels: c, height: h, width: w, border: 1)
            }
        }
        // Buffers: each step writes a buffer of the layout the next step reads, other than its own
        // input (two of each layout at most, reused in turn); a layer norm works in place.
        var buffers: [TinyImageBlock] = [reads[0]!]
        var current = 0
        var stages: [Stage] = []
        for (index, step) in steps.enumerated() {
            let input = reads[index]!
            let output = reads[index + 1]!
            let target: Int
            if case .layerNorm = step {
                target = current
            } else if let free = buffers.indices.first(where: { buffers[$0] == output && $0 != current }) {
                target = free
            } else {
                buffers.append(output)
                target = buffers.count - 1
            }
            let kernel: Kernel
            switch step {
            case .channelFilters(let weight):
                let side = weight.shape[2], radius = side / 2
                var taps: [(filter: Int, dy: Int, dx: Int, weight: Float)] = []
                let values = weight.scalars
                for f in 0..<weight.shape[0] {
                    for ky in 0..<side {
                        for kx in 0..<side where values[(f * side + ky) * side + kx] != 0 {
                            taps.append((f, ky - radius, kx - radius, values[(f * side + ky) * side + kx]))
                        }
                    }
                }
                kernel = .channelFilters(taps: taps, filters: weight.shape[0])
            case .convolution(let weight, let bias):
                guard let plan = TinyImageWinograd(input: input, outputChannels: weight.shape[0]) else { return nil }
                let filters = Tensor(uninitializedShape: [16, weight.shape[0], input.channels])
                plan.transformedFilters(weight.storage.baseAddress, into: filters.storage.baseAddress)
                kernel = .convolution(plan, filters: filters, bias: bias)
            case .layerNorm(let weight, let bias, let epsilon, let clamp):
                kernel = .layerNorm(weight: weight, bias: bias, epsilon: epsilon, clamp: clamp)
            case .averagePool:
                kernel = .averagePool
            }
            stages.append(Stage(kernel: kernel, source: current, target: target, input: input, output: output))
            current = target
        }
        self.stages = stages
        self.buffers = buffers
        inputLayout = reads[0]!
        outputLayout = reads[steps.count]!
        inputBuffer = 0
        outputBuffer = current
    }

    /// Runs the steps on every image: `[N, C, H, W] → [N, outputChannels, outputHeight,
    /// outputWidth]`, blocks of 16 images spread over the cores.
    ///
    /// - Precondition: `images` is `[N, C, H, W]` with the extents the pipeline was made for.
    package func callAsFunction(_ images: Tensor) -> Tensor {
        precondition(images.rank == 4 && Array(images.shape[1...]) == [inputLayout.channels, inputLayout.height, inputLayout.width],
                     "TinyImagePipeline: expected [N, \(inputLayout.channels), \(inputLayout.height), \(inputLayout.width)], got \(images.shape)")
        let count = images.shape[0]
        let result = Tensor(uninitializedShape: [count, outputChannels, outputHeight, outputWidth])
        guard count > 0 else { return result }
        let lanes = TinyImageBlock.lanes
        let blocks = (count + lanes - 1) / lanes
        let source = SendablePointer(images.storage.baseAddress), target = SendablePointer(result.storage.baseAddress)
        let scratchFloats = stages.reduce(0) { largest, stage in
            if case .convolution(let plan, _, _) = stage.kernel { return Swift.max(largest, plan.scratchFloats) }
            return largest
        }
        Parallel.forRanges(blocks, minimumChunk: 1) { firstBlock, endBlock in
            let blockBuffers = buffers.map { $0.allocateZeroed() }
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(scratchFloats, 1))
            defer { blockBuffers.forEach { $0.deallocate() }; scratch.deallocate() }
            for block in firstBlock..<endBlock {
                let first = block &* lanes, imagesInBlock = Swift.min(lanes, count &- first)
                inputLayout.load(source.pointer, first: first, count: imagesInBlock, into: blockBuffers[inputBuffer])
                for stage in stages {
                    run(stage, from: blockBuffers[stage.source], into: blockBuffers[stage.target], scratch: scratch)
                }
                outputLayout.store(blockBuffers[outputBuffer], count: imagesInBlock, into: target.pointer, first: first)
            }
        }
        return result
    }

    private func run(_ stage: Stage, from input: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>,
                     scratch: UnsafeMutablePointer<Float>) {
        switch stage.kernel {
        case .channelFilters(let taps, let filters):
            Self.channelFilters(input, stage.input, taps: taps, filters: filters, into: output, stage.output)
        case .convolution(let plan, let filters, let bias):
            plan.convolve(input, filters: filters.storage.baseAddress, bias: bias?.storage.baseAddress,
                          into: output, stage.output, scratch: scratch)
        case .layerNorm(let weight, let bias, let epsilon, let clamp):
            Self.layerNorm(output, stage.output, weight: weight?.storage.baseAddress, bias: bias?.storage.baseAddress,
                           epsilon: epsilon, clamp: clamp)
        case .averagePool:
            Self.averagePool(input, stage.input, into: output, stage.output)
        }
    }

    /// `output[c·F + f](y, x) = Σ_taps w · input[c](y + dy, x + dx)`, the taps of filter `f` in
    /// raster order (zero taps skipped); the input's frame holds the zero padding.
    private static func channelFilters(_ input: UnsafePointer<Float>, _ inputLayout: TinyImageBlock,
                                       taps: [(filter: Int, dy: Int, dx: Int, weight: Float)], filters: Int,
                                       into output: UnsafeMutablePointer<Float>, _ outputLayout: TinyImageBlock) {
        let lanes = TinyImageBlock.lanes
        let height = inputLayout.height, width = inputLayout.width
        let rowStride = inputLayout.rowStride
        taps.withUnsafeBufferPointer { taps in
            for c in 0..<inputLayout.channels {
                var tap = 0
                while tap < taps.count {
                    let f = taps[tap].filter
                    var end = tap
                    while end < taps.count && taps[end].filter == f { end &+= 1 }
                    for y in 0..<height {
                        let row = output + outputLayout.offset(c &* filters &+ f, y, 0)
                        let origin = input + inputLayout.offset(c, y, 0)
                        for x in 0..<width {
                            var sum = SIMD16<Float>()
                            var t = tap
                            while t < end {
                                let offset: Int = taps[t].dy &* rowStride &+ (x &+ taps[t].dx) &* lanes
                                sum += Tensor.load16(origin, offset) * taps[t].weight
                                t &+= 1
                            }
                            Tensor.store16(sum, row + x &* lanes)
                        }
                    }
                    tap = end
                }
            }
        }
    }

    /// Layer normalisation of each lane's image positions, in place, then the clamp: per image the
    /// mean and biased variance of its `C·H·W` values (row sums around the image's first value in
    /// `Float`, added in `Double`), `y = (x − m − mLow)·r·γ + β` as ``Tensor/layerNorm(_:normalizedShape:weight:bias:epsilon:clampedTo:)``.
    private static func layerNorm(_ block: UnsafeMutablePointer<Float>, _ layout: TinyImageBlock,
                                  weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, epsilon: Float,
                                  clamp: ClosedRange<Float>?) {
        let lanes = TinyImageBlock.lanes
        let channels = layout.channels, height = layout.height, width = layout.width
        let shift = Tensor.load16(block + layout.offset(0, 0, 0), 0)
        var sumLow = SIMD8<Double>(), sumHigh = SIMD8<Double>(), squaresLow = SIMD8<Double>(), squaresHigh = SIMD8<Double>()
        for c in 0..<channels {
            for y in 0..<height {
                let row = block + layout.offset(c, y, 0)
                var s = SIMD16<Float>(), q = SIMD16<Float>()
                for x in 0..<width {
                    let d = Tensor.load16(row, x &* lanes) - shift
                    s += d
                    q += d * d
                }
                sumLow += SIMD8<Double>(s.lowHalf); sumHigh += SIMD8<Double>(s.highHalf)
                squaresLow += SIMD8<Double>(q.lowHalf); squaresHigh += SIMD8<Double>(q.highHalf)
            }
        }
        let n = Double(channels &* height &* width), eps = Double(epsilon)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 &* lanes) { statistics in
            let mean = statistics.baseAddress!, meanLow = mean + lanes, inverse = mean + 2 &* lanes
            for lane in 0..<lanes {
                let s = lane < 8 ? sumLow[lane] : sumHigh[lane &- 8]
                let q = lane < 8 ? squaresLow[lane] : squaresHigh[lane &- 8]
                let shiftedMean = s / n
                let full = Double(shift[lane]) + shiftedMean
                let variance = Swift.max(q / n - shiftedMean * shiftedMean, 0)
                let m = Float(full)
                mean[lane] = m
                meanLow[lane] = Float(full - Double(m))
                inverse[lane] = Float(1 / (variance + eps).squareRoot())
            }
            // Lane by lane in plain loops (which the compiler vectorises) rather than with SIMD
            // masks, which it does not: ReLU as `v > 0 ? v : 0` (NaN gives 0), Hardtanh as
            // `min(max(v, lower), upper)`, as the tensor kernel.
            let isReLU = clamp == 0...Float.infinity
            let lower = clamp?.lowerBound ?? 0, upper = clamp?.upperBound ?? 0
            var element = 0
            for c in 0..<channels {
                for y in 0..<height {
                    let row = block + layout.offset(c, y, 0)
                    for x in 0..<width {
                        let g = weight?[element] ?? 1, b = bias?[element] ?? 0
                        let pixel = row + x &* lanes
                        if isReLU {
                            for lane in 0..<16 {
                                let v = (pixel[lane] - mean[lane] - meanLow[lane]) * inverse[lane] * g + b
                                pixel[lane] = v > 0 ? v : 0
                            }
                        } else if clamp != nil {
                            for lane in 0..<16 {
                                let v = (pixel[lane] - mean[lane] - meanLow[lane]) * inverse[lane] * g + b
                                pixel[lane] = Swift.min(Swift.max(v, lower), upper)
                            }
                        } else {
                            for lane in 0..<16 {
                                pixel[lane] = (pixel[lane] - mean[lane] - meanLow[lane]) * inverse[lane] * g + b
                            }
                        }
                        element &+= 1
                    }
                }
            }
        }
    }

    /// `output(y, x) = (1/9)·Σ input(2y − 1 + i, 2x − 1 + j)` over `i, j ∈ 0…2` (rows, then
    /// columns, as ``Tensor/avgPool2d(_:kernelSize:stride:padding:ceilMode:countIncludePadding:)``);
    /// the input's frame holds the zero padding.
    private static func averagePool(_ input: UnsafePointer<Float>, _ inputLayout: TinyImageBlock,
                                    into output: UnsafeMutablePointer<Float>, _ outputLayout: TinyImageBlock) {
        let lanes = TinyImageBlock.lanes, rowStride = inputLayout.rowStride
        let scale: Float = 1 / 9
        for c in 0..<outputLayout.channels {
            for y in 0..<outputLayout.height {
                let row = output + outputLayout.offset(c, y, 0)
                for x in 0..<outputLayout.width {
                    let window = input + inputLayout.offset(c, 2 &* y &- 1, 2 &* x &- 1)
                    var sum = SIMD16<Float>()
                    for i in 0..<3 {
                        let line = window + i &* rowStride
                        sum += Tensor.load16(line, 0)
                        sum += Tensor.load16(line, lanes)
                        sum += Tensor.load16(line, 2 &* lanes)
                    }
                    Tensor.store16(sum * scale, row + x &* lanes)
                }
            }
        }
    }
}
