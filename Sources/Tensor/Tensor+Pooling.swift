// 2-D pooling over [N, C, H, W] with PyTorch's output-size and divisor rules: average, max and
// adaptive average. Each plane (n, c) is independent, so the kernels split the planes over the
// cores. The naive `referenceAvgPool2d` / `referenceMaxPool2d` restate the rules position by
// position for tests.

/// The window of one pooling output along one axis.
struct PoolingWindow {
    /// First and one-past-last input index inside the input.
    var start: Int, end: Int
    /// The window's extent clipped to the padded input (the `countIncludePadding` divisor factor).
    var paddedExtent: Int
}

extension Tensor {
    /// The output extent of a pooling along one axis, as PyTorch's `pooling_output_shape`: with
    /// `ceilMode` the last window must still start inside the input or its left padding.
    static func pooledSize(_ input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool) -> Int {
        let numerator = input + 2 * padding - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)
        // Floor division (the numerator may be negative).
        var size = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1
        if ceilMode && (size - 1) * stride >= input + padding { size -= 1 }
        return size
    }

    /// Checks pooling arguments on one axis as PyTorch does and returns the output extent.
    private static func checkedPooledSize(op: String, axis: String, input: Int, kernel: Int, stride: Int, padding: Int,
                                          dilation: Int, ceilMode: Bool) -> Int {
        precondition(kernel > 0 && stride > 0 && dilation > 0,
                     "\(op): kernel size \(kernel), stride \(stride) and dilation \(dilation) must be positive (\(axis))")
        let effectiveKernel = (kernel - 1) * dilation + 1
        precondition(padding >= 0 && padding <= effectiveKernel / 2,
                     "\(op): padding \(padding) must be between 0 and half the kernel size \(effectiveKernel) (\(axis))")
        let size = pooledSize(input, kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode)
        precondition(size > 0, "\(op): input extent \(input) is too small for kernel \(kernel) with padding \(padding) (\(axis))")
        return size
    }

    /// The average-pooling windows along one axis (PyTorch's `avg_pool2d` CPU kernel).
    static func averagePoolingWindows(input: Int, output: Int, kernel: Int, stride: Int, padding: Int) -> [PoolingWindow] {
        (0..<output).map { o in
            let start = o * stride - padding
            let end = Swift.min(start + kernel, input + padding)
            return PoolingWindow(start: Swift.max(start, 0), end: Swift.min(end, input), paddedExtent: end - start)
        }
    }

    /// Requires `[N, C, H, W]` with no empty axis.
    private static func checkImage(_ input: Tensor, op: String) {
        precondition(input.rank == 4, "\(op): input must be [N, C, H, W], got \(input.shape)")
        precondition(input.count > 0, "\(op): empty input \(input.shape)")
    }

    // MARK: Average pooling

    /// 2-D average pooling, as PyTorch's `torch.nn.functional.avg_pool2d` (without
    /// `divisor_override`).
    ///
    /// Output `(i, j)` averages the window starting at `(i·sY − pY, j·sX − pX)` of extent
    /// `kH × kW`, clipped to the input. The divisor is the window's area clipped to the *padded*
    /// input when `countIncludePadding` (so the part of a `ceilMode` window hanging past the
    /// right/bottom padding never counts), and the number of input elements otherwise.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - kernelSize: `(kH, kW)`.
    ///   - stride: `(sY, sX)`; `nil` means the kernel size.
    ///   - padding: `(pY, pX)`, at most half the kernel size.
    ///   - ceilMode: rounds the output size up instead of down.
    ///   - countIncludePadding: counts padding zeros in the divisor.
    /// - Returns: `[N, C, Ho, Wo]` with `Ho = ⌊(H + 2pY − kH) / sY⌋ + 1` (⌈⌉ with `ceilMode`, see above).
    public static func avgPool2d(_ input: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                                 padding: (Int, Int) = (0, 0), ceilMode: Bool = false,
                                 countIncludePadding: Bool = true) -> Tensor {
        checkImage(input, op: "avgPool2d")
        let stride = stride ?? kernelSize
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let Ho = checkedPooledSize(op: "avgPool2d", axis: "height", input: H, kernel: kernelSize.0, stride: stride.0,
                                   padding: padding.0, dilation: 1, ceilMode: ceilMode)
        let Wo = checkedPooledSize(op: "avgPool2d", axis: "width", input: W, kernel: kernelSize.1, stride: stride.1,
                                   padding: padding.1, dilation: 1, ceilMode: ceilMode)
        let rows = averagePoolingWindows(input: H, output: Ho, kernel: kernelSize.0, stride: stride.0, padding: padding.0)
        let columns = averagePoolingWindows(input: W, output: Wo, kernel: kernelSize.1, stride: stride.1, padding: padding.1)
        // Reciprocal divisors per output position.
        var scale = [Float](repeating: 0, count: Ho * Wo)
        for i in 0..<Ho {
            for j in 0..<Wo {
                let (r, c) = (rows[i], columns[j])
                let inside = (r.end - r.start) * (c.end - c.start)
                let divisor = countIncludePadding ? r.paddedExtent * c.paddedExtent : inside
                scale[i * Wo + j] = inside > 0 ? 1 / Float(divisor) : 0
            }
        }
        let out = Tensor(uninitializedShape: [N, C, Ho, Wo])
        let px = input.storage.baseAddress, py = SendablePointer(out.storage.baseAddress)
        let planes = N * C, inPlane = H * W, outPlane = Ho * Wo
        rows.withUnsafeBufferPointer { rows in
            columns.withUnsafeBufferPointer { columns in
                scale.withUnsafeBufferPointer { scale in
                    Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(inPlane, 1))) { start, end in
                        for p in start..<end {
                            let x = px + p &* inPlane, y = py.pointer + p &* outPlane
                            for i in 0..<Ho {
                                let r = rows[i]
                                for j in 0..<Wo {
                                    let c = columns[j]
                                    var s: Float = 0
                                    var iy = r.start
                                    while iy < r.end {
                                        let row = x + iy &* W
                                        var ix = c.start
                                        while ix < c.end { s += row[ix]; ix &+= 1 }
                                        iy &+= 1
                                    }
                                    y[i &* Wo &+ j] = s * scale[i &* Wo &+ j]
                                }
                            }
                        }
                    }
                }
            }
        }
        return record("avgPool2d", out, inputs: [input]) { gradient in
            let dx = Tensor(repeating: 0, shape: [N, C, H, W])
            let pg = gradient.storage.baseAddress, pdx = SendablePointer(dx.storage.baseAddress)
            Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(inPlane, 1))) { start, end in
                for p in start..<end {
                    let g = pg + p &* outPlane, d = pdx.pointer + p &* inPlane
                    for i in 0..<Ho {
                        let r = rows[i]
                        for j in 0..<Wo {
                            let c = columns[j]
                            let v = g[i &* Wo &+ j] * scale[i &* Wo &+ j]
                            for iy in r.start..<Swift.max(r.start, r.end) {
                                let row = d + iy &* W
                                var ix = c.start
                                while ix < c.end { row[ix] += v; ix &+= 1 }
                            }
                        }
                    }
                }
            }
            return [dx]
        }
    }

    /// 2-D average pooling with square kernel, stride and padding; see
    /// ``avgPool2d(_:kernelSize:stride:padding:ceilMode:countIncludePadding:)``.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - kernelSize: the window's side.
    ///   - stride: `nil` means `kernelSize`.
    ///   - padding: zeros added on each side of both axes.
    ///   - ceilMode: round the output size up instead of down.
    ///   - countIncludePadding: whether padded taps count in the divisor.
    /// - Returns: `[N, C, Ho, Wo]`.
    public static func avgPool2d(_ input: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0,
                                 ceilMode: Bool = false, countIncludePadding: Bool = true) -> Tensor {
        avgPool2d(input, kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) },
                  padding: (padding, padding), ceilMode: ceilMode, countIncludePadding: countIncludePadding)
    }

    // MARK: Max pooling

    /// 2-D max pooling, as PyTorch's `torch.nn.functional.max_pool2d`.
    ///
    /// Output `(i, j)` is the largest input among the taps `(i·sY − pY + ky·dY, j·sX − pX + kx·dX)`
    /// that fall inside the input (padding never wins). Ties go to the first tap in row-major order
    /// and a NaN wins (the last one, as in PyTorch); the winning tap receives the whole gradient.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - kernelSize: `(kH, kW)`.
    ///   - stride: `(sY, sX)`; `nil` means the kernel size.
    ///   - padding: `(pY, pX)`, at most half the dilated kernel size.
    ///   - dilation: `(dY, dX)`, the spacing of the taps.
    ///   - ceilMode: rounds the output size up instead of down.
    /// - Returns: `[N, C, Ho, Wo]` with `Ho = ⌊(H + 2pY − dY(kH − 1) − 1) / sY⌋ + 1` (⌈⌉ with `ceilMode`).
    public static func maxPool2d(_ input: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                                 padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
                                 ceilMode: Bool = false) -> Tensor {
        checkImage(input, op: "maxPool2d")
        let stride = stride ?? kernelSize
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let Ho = checkedPooledSize(op: "maxPool2d", axis: "height", input: H, kernel: kernelSize.0, stride: stride.0,
                                   padding: padding.0, dilation: dilation.0, ceilMode: ceilMode)
        let Wo = checkedPooledSize(op: "maxPool2d", axis: "width", input: W, kernel: kernelSize.1, stride: stride.1,
                                   padding: padding.1, dilation: dilation.1, ceilMode: ceilMode)
        let (kH, kW) = kernelSize, (sY, sX) = stride, (pY, pX) = padding, (dY, dX) = dilation
        let out = Tensor(uninitializedShape: [N, C, Ho, Wo])
        let planes = N * C, inPlane = H * W, outPlane = Ho * Wo
        // The winning tap of each output as an index into its input plane (−1: empty window).
        var winners = [Int32](repeating: -1, count: planes * outPlane)
        let px = input.storage.baseAddress, py = SendablePointer(out.storage.baseAddress)
        winners.withUnsafeMutableBufferPointer { winners in
            let pw = SendablePointer(winners.baseAddress!)
            Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(outPlane &* kH &* kW, 1))) { start, end in
                for p in start..<end {
                    let x = px + p &* inPlane, y = py.pointer + p &* outPlane, win = pw.pointer + p &* outPlane
                    for i in 0..<Ho {
                        var yStart = i &* sY &- pY
                        let yEnd = Swift.min(yStart &+ (kH &- 1) &* dY &+ 1, H)
                        while yStart < 0 { yStart &+= dY }
                        for j in 0..<Wo {
                            var xStart = j &* sX &- pX
                            let xEnd = Swift.min(xStart &+ (kW &- 1) &* dX &+ 1, W)
                            while xStart < 0 { xStart &+= dX }
                            var best = -Float.infinity, bestIndex = -1
                            var iy = yStart
                            while iy < yEnd {
                                var ix = xStart
                                while ix < xEnd {
                                    let index = iy &* W &+ ix, v = x[index]
                                    if v > best || v.isNaN || bestIndex < 0 { best = v; bestIndex = index }
                                    ix &+= dX
                                }
                                iy &+= dY
                            }
                            y[i &* Wo &+ j] = best
                            win[i &* Wo &+ j] = Int32(truncatingIfNeeded: bestIndex)
                        }
                    }
                }
            }
        }
        return record("maxPool2d", out, inputs: [input]) { gradient in
            let dx = Tensor(repeating: 0, shape: [N, C, H, W])
            let pg = gradient.storage.baseAddress, pdx = SendablePointer(dx.storage.baseAddress)
            winners.withUnsafeBufferPointer { winners in
                let pw = winners.baseAddress!
                Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(outPlane, 1))) { start, end in
                    for p in start..<end {
                        let g = pg + p &* outPlane, d = pdx.pointer + p &* inPlane, win = pw + p &* outPlane
                        for o in 0..<outPlane where win[o] >= 0 { d[Int(win[o])] += g[o] }
                    }
                }
            }
            return [dx]
        }
    }

    /// 2-D max pooling with square kernel, stride, padding and dilation; see
    /// ``maxPool2d(_:kernelSize:stride:padding:dilation:ceilMode:)``.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - kernelSize: the window's side.
    ///   - stride: `nil` means `kernelSize`.
    ///   - padding: implicit `-∞` added on each side of both axes.
    ///   - dilation: the spacing between window taps.
    ///   - ceilMode: round the output size up instead of down.
    /// - Returns: `[N, C, Ho, Wo]`.
    public static func maxPool2d(_ input: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0,
                                 dilation: Int = 1, ceilMode: Bool = false) -> Tensor {
        maxPool2d(input, kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) },
                  padding: (padding, padding), dilation: (dilation, dilation), ceilMode: ceilMode)
    }

    // MARK: Adaptive average pooling

    /// The adaptive-pooling windows along one axis: output `i` covers
    /// `⌊i·input/output⌋ ..< ⌈(i+1)·input/output⌉`.
    static func adaptivePoolingWindows(input: Int, output: Int) -> [PoolingWindow] {
        (0..<output).map { i in
            let start = i * input / output, end = ((i + 1) * input + output - 1) / output
            return PoolingWindow(start: start, end: end, paddedExtent: end - start)
        }
    }

    /// 2-D adaptive average pooling, as PyTorch's `torch.nn.functional.adaptive_avg_pool2d`:
    /// output `(i, j)` averages rows `⌊i·H/Ho⌋ ..< ⌈(i+1)·H/Ho⌉` and columns `⌊j·W/Wo⌋ ..< ⌈(j+1)·W/Wo⌉`
    /// (windows may overlap when the sizes do not divide).
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - outputSize: `(Ho, Wo)`, positive.
    /// - Returns: `[N, C, Ho, Wo]`.
    public static func adaptiveAvgPool2d(_ input: Tensor, outputSize: (Int, Int)) -> Tensor {
        checkImage(input, op: "adaptiveAvgPool2d")
        let (Ho, Wo) = outputSize
        precondition(Ho > 0 && Wo > 0, "adaptiveAvgPool2d: output size \(outputSize) must be positive")
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let rows = adaptivePoolingWindows(input: H, output: Ho)
        let columns = adaptivePoolingWindows(input: W, output: Wo)
        let planes = N * C, inPlane = H * W, outPlane = Ho * Wo
        let out = Tensor(uninitializedShape: [N, C, Ho, Wo])
        let px = input.storage.baseAddress, py = SendablePointer(out.storage.baseAddress)
        Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(inPlane, 1))) { start, end in
            for p in start..<end {
                let x = px + p &* inPlane, y = py.pointer + p &* outPlane
                for i in 0..<Ho {
                    let r = rows[i]
                    for j in 0..<Wo {
                        let c = columns[j]
                        var s: Float = 0
                        for iy in r.start..<r.end {
                            let row = x + iy &* W
                            var ix = c.start
                            while ix < c.end { s += row[ix]; ix &+= 1 }
                        }
                        y[i &* Wo &+ j] = s / Float(r.paddedExtent * c.paddedExtent)
                    }
                }
            }
        }
        return record("adaptiveAvgPool2d", out, inputs: [input]) { gradient in
            let dx = Tensor(repeating: 0, shape: [N, C, H, W])
            let pg = gradient.storage.baseAddress, pdx = SendablePointer(dx.storage.baseAddress)
            Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(inPlane, 1))) { start, end in
                for p in start..<end {
                    let g = pg + p &* outPlane, d = pdx.pointer + p &* inPlane
                    for i in 0..<Ho {
                        let r = rows[i]
                        for j in 0..<Wo {
                            let c = columns[j]
                            let v = g[i &* Wo &+ j] / Float(r.paddedExtent * c.paddedExtent)
                            for iy in r.start..<r.end {
                                let row = d + iy &* W
                                var ix = c.start
                                while ix < c.end { row[ix] += v; ix &+= 1 }
                            }
                        }
                    }
                }
            }
            return [dx]
        }
    }

    /// 2-D adaptive average pooling to a square `outputSize × outputSize`; see
    /// ``adaptiveAvgPool2d(_:outputSize:)``.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - outputSize: the output's height and width.
    /// - Returns: `[N, C, outputSize, outputSize]`.
    public static func adaptiveAvgPool2d(_ input: Tensor, outputSize: Int) -> Tensor {
        adaptiveAvgPool2d(input, outputSize: (outputSize, outputSize))
    }

    // MARK: Reference kernels

    /// The naive average pooling, restating PyTorch's rules tap by tap (no autodiff), the
    /// reference for tests: tap `(ky, kx)` of output `(i, j)` counts towards the divisor when it
    /// lies inside the padded input (`countIncludePadding`) or inside the input, and towards the
    /// sum when it lies inside the input.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - kernelSize: `(kH, kW)`.
    ///   - stride: `(sY, sX)`; `nil` means `kernelSize`.
    ///   - padding: `(pY, pX)`.
    ///   - ceilMode: round the output size up instead of down.
    ///   - countIncludePadding: whether padded taps count in the divisor.
    /// - Returns: `[N, C, Ho, Wo]`.
    public static func referenceAvgPool2d(_ input: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                                          padding: (Int, Int) = (0, 0), ceilMode: Bool = false,
                                          countIncludePadding: Bool = true) -> Tensor {
        let stride = stride ?? kernelSize
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let Ho = pooledSize(H, kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: 1, ceilMode: ceilMode)
        let Wo = pooledSize(W, kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: 1, ceilMode: ceilMode)
        let x = input.scalars
        var y = [Float](repeating: 0, count: N * C * Ho * Wo)
        for p in 0..<(N * C) {
            for i in 0..<Ho {
                for j in 0..<Wo {
                    var sum: Float = 0, inside = 0, padded = 0
                    for ky in 0..<kernelSize.0 {
                        for kx in 0..<kernelSize.1 {
                            let iy = i * stride.0 - padding.0 + ky, ix = j * stride.1 - padding.1 + kx
                            if iy >= -padding.0 && iy < H + padding.0 && ix >= -padding.1 && ix < W + padding.1 { padded += 1 }
                            if iy >= 0 && iy < H && ix >= 0 && ix < W {
                                inside += 1
                                sum += x[(p * H + iy) * W + ix]
                            }
                        }
                    }
                    y[(p * Ho + i) * Wo + j] = inside == 0 ? 0 : sum / Float(countIncludePadding ? padded : inside)
                }
            }
        }
        return Tensor(shape: [N, C, Ho, Wo], scalars: y)
    }

    /// The naive max pooling, tap by tap (no autodiff), the reference for tests.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - kernelSize: `(kH, kW)`.
    ///   - stride: `(sY, sX)`; `nil` means `kernelSize`.
    ///   - padding: `(pY, pX)`.
    ///   - dilation: `(dY, dX)`.
    ///   - ceilMode: round the output size up instead of down.
    /// - Returns: `[N, C, Ho, Wo]`.
    public static func referenceMaxPool2d(_ input: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                                          padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
                                          ceilMode: Bool = false) -> Tensor {
        let stride = stride ?? kernelSize
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let Ho = pooledSize(H, kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: dilation.0, ceilMode: ceilMode)
        let Wo = pooledSize(W, kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: dilation.1, ceilMode: ceilMode)
        let x = input.scalars
        var y = [Float](repeating: -.infinity, count: N * C * Ho * Wo)
        for p in 0..<(N * C) {
            for i in 0..<Ho {
                for j in 0..<Wo {
                    for ky in 0..<kernelSize.0 {
                        for kx in 0..<kernelSize.1 {
                            let iy = i * stride.0 - padding.0 + ky * dilation.0
                            let ix = j * stride.1 - padding.1 + kx * dilation.1
                            guard iy >= 0 && iy < H && ix >= 0 && ix < W else { continue }
                            y[(p * Ho + i) * Wo + j] = Swift.max(y[(p * Ho + i) * Wo + j], x[(p * H + iy) * W + ix])
                        }
                    }
                }
            }
        }
        return Tensor(shape: [N, C, Ho, Wo], scalars: y)
    }
}
