// Spatial resampling of [N, C, H, W]: nearest and bilinear, with PyTorch's `interpolate` source
// index rules (computed in Float as PyTorch does for float tensors). Rows and columns are
// separable, so each op precomputes per-axis source indices (and weights) once, then every plane
// (n, c) is an independent gather; the backward scatters the same taps.

/// The two source taps and weights of one output position of a linear interpolation.
struct LinearTap {
    var index0: Int, index1: Int
    var weight0: Float, weight1: Float
}

extension Tensor {
    /// The source index of each output position for PyTorch's `nearest` mode:
    /// `min(⌊dst · in/out⌋, in − 1)`, with the scale `in/out` in Float.
    static func nearestSourceIndices(input: Int, output: Int) -> [Int] {
        if output == input { return Array(0..<output) }
        if output == 2 * input { return (0..<output).map { $0 >> 1 } }
        let scale = Float(input) / Float(output)
        return (0..<output).map { Swift.min(Int((Float($0) * scale).rounded(.down)), input - 1) }
    }

    /// The taps of each output position for PyTorch's `bilinear`/`linear` modes along one axis.
    ///
    /// With `alignCorners` the source is `dst · (in − 1)/(out − 1)`; otherwise it is
    /// `(dst + ½) · in/out − ½` clamped at 0. The lower tap is `⌊src⌋` (at most `in − 1`), the
    /// upper one the next index (or the same at the last row), weighted by the fractional part.
    static func linearTaps(input: Int, output: Int, alignCorners: Bool) -> [LinearTap] {
        if output == input {
            return (0..<output).map { LinearTap(index0: $0, index1: $0, weight0: 1, weight1: 0) }
        }
        let scale: Float = alignCorners ? (output > 1 ? Float(input - 1) / Float(output - 1) : 0)
                                        : Float(input) / Float(output)
        return (0..<output).map { dst in
            var source: Float
            if alignCorners {
                source = scale * Float(dst)
            } else {
                source = scale * (Float(dst) + 0.5) - 0.5
                if source < 0 { source = 0 }
            }
            let index0 = Swift.min(Int(source.rounded(.down)), input - 1)
            let weight1 = Swift.min(Swift.max(source - Float(index0), 0), 1)
            let index1 = index0 < input - 1 ? index0 + 1 : index0
            return LinearTap(index0: index0, index1: index1, weight0: 1 - weight1, weight1: weight1)
        }
    }

    /// Requires `[N, C, H, W]` with no empty axis and a positive output size.
    private static func checkResize(_ input: Tensor, size: (Int, Int), op: String) {
        precondition(input.rank == 4, "\(op): input must be [N, C, H, W], got \(input.shape)")
        precondition(input.count > 0, "\(op): empty input \(input.shape)")
        precondition(size.0 > 0 && size.1 > 0, "\(op): output size \(size) must be positive")
    }

    // MARK: Nearest

    /// Nearest-neighbour resizing, as PyTorch's `interpolate(mode: "nearest", size:)`: output
    /// `(i, j)` copies input `(⌊i · H/Ho⌋, ⌊j · W/Wo⌋)` (clamped to the last row/column).
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - size: `(Ho, Wo)`, positive (smaller than the input is allowed).
    /// - Returns: `[N, C, Ho, Wo]`.
    public static func upsampleNearest2d(_ input: Tensor, size: (Int, Int)) -> Tensor {
        checkResize(input, size: size, op: "upsampleNearest2d")
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (Ho, Wo) = size
        let rows = nearestSourceIndices(input: H, output: Ho), columns = nearestSourceIndices(input: W, output: Wo)
        let planes = N * C, inPlane = H * W, outPlane = Ho * Wo
        let out = Tensor(uninitializedShape: [N, C, Ho, Wo])
        let px = input.storage.baseAddress, py = SendablePointer(out.storage.baseAddress)
        rows.withUnsafeBufferPointer { rows in
            columns.withUnsafeBufferPointer { columns in
                Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(outPlane, 1))) { start, end in
                    for p in start..<end {
                        let x = px + p &* inPlane
                        var y = py.pointer + p &* outPlane
                        for i in 0..<Ho {
                            let row = x + rows[i] &* W
                            for j in 0..<Wo { y[j] = row[columns[j]] }
                            y += Wo
                        }
                    }
                }
            }
        }
        return record("upsampleNearest2d", out, inputs: [input]) { gradient in
            let dx = Tensor(repeating: 0, shape: [N, C, H, W])
            let pg = gradient.storage.baseAddress, pdx = SendablePointer(dx.storage.baseAddress)
            Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(outPlane, 1))) { start, end in
                for p in start..<end {
                    let d = pdx.pointer + p &* inPlane
                    var g = pg + p &* outPlane
                    for i in 0..<Ho {
                        let row = d + rows[i] &* W
                        for j in 0..<Wo { row[columns[j]] += g[j] }
                        g += Wo
                    }
                }
            }
            return [dx]
        }
    }

    /// Nearest-neighbour upsampling by an integer factor, as PyTorch's
    /// `interpolate(scale_factor: s, mode: "nearest")`: every pixel becomes an `s × s` block.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - scaleFactor: `s`, positive.
    /// - Returns: `[N, C, s·H, s·W]`.
    public static func upsampleNearest2d(_ input: Tensor, scaleFactor: Int) -> Tensor {
        precondition(scaleFactor > 0, "upsampleNearest2d: scale factor \(scaleFactor) must be positive")
        precondition(input.rank == 4, "upsampleNearest2d: input must be [N, C, H, W], got \(input.shape)")
        return upsampleNearest2d(input, size: (input.shape[2] * scaleFactor, input.shape[3] * scaleFactor))
    }

    // MARK: Bilinear

    /// Bilinear resizing, as PyTorch's `interpolate(mode: "bilinear", size:, align_corners:)`
    /// without antialiasing (downsampling reads only the two nearest taps per axis).
    ///
    /// The source row of output row `i` is `i · (H − 1)/(Ho − 1)` with `alignCorners`, and
    /// `max((i + ½) · H/Ho − ½, 0)` without; columns alike. The output blends the four
    /// surrounding input pixels by the fractional parts.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - size: `(Ho, Wo)`, positive.
    ///   - alignCorners: maps the corner pixel centres onto each other.
    /// - Returns: `[N, C, Ho, Wo]`.
    public static func upsampleBilinear2d(_ input: Tensor, size: (Int, Int), alignCorners: Bool = false) -> Tensor {
        checkResize(input, size: size, op: "upsampleBilinear2d")
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (Ho, Wo) = size
        let rows = linearTaps(input: H, output: Ho, alignCorners: alignCorners)
        let columns = linearTaps(input: W, output: Wo, alignCorners: alignCorners)
        let planes = N * C, inPlane = H * W, outPlane = Ho * Wo
        let out = Tensor(uninitializedShape: [N, C, Ho, Wo])
        let px = input.storage.baseAddress, py = SendablePointer(out.storage.baseAddress)
        rows.withUnsafeBufferPointer { rows in
            columns.withUnsafeBufferPointer { columns in
                Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(outPlane, 1))) { start, end in
                    for p in start..<end {
                        let x = px + p &* inPlane
                        var y = py.pointer + p &* outPlane
                        for i in 0..<Ho {
                            let r = rows[i]
                            let row0 = x + r.index0 &* W, row1 = x + r.index1 &* W
                            for j in 0..<Wo {
                                let c = columns[j]
                                let top = c.weight0 * row0[c.index0] + c.weight1 * row0[c.index1]
                                let bottom = c.weight0 * row1[c.index0] + c.weight1 * row1[c.index1]
                                y[j] = r.weight0 * top + r.weight1 * bottom
                            }
                            y += Wo
                        }
                    }
                }
            }
        }
        return record("upsampleBilinear2d", out, inputs: [input]) { gradient in
            let dx = Tensor(repeating: 0, shape: [N, C, H, W])
            let pg = gradient.storage.baseAddress, pdx = SendablePointer(dx.storage.baseAddress)
            rows.withUnsafeBufferPointer { rows in
                columns.withUnsafeBufferPointer { columns in
                    Parallel.forRanges(planes, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(outPlane, 1))) { start, end in
                        for p in start..<end {
                            let d = pdx.pointer + p &* inPlane
                            var g = pg + p &* outPlane
                            for i in 0..<Ho {
                                let r = rows[i]
                                let row0 = d + r.index0 &* W, row1 = d + r.index1 &* W
                                for j in 0..<Wo {
                                    let c = columns[j]
                                    let top = r.weight0 * g[j], bottom = r.weight1 * g[j]
                                    row0[c.index0] += c.weight0 * top
                                    row0[c.index1] += c.weight1 * top
                                    row1[c.index0] += c.weight0 * bottom
                                    row1[c.index1] += c.weight1 * bottom
                                }
                                g += Wo
                            }
                        }
                    }
                }
            }
            return [dx]
        }
    }

    /// Bilinear upsampling by an integer factor, as PyTorch's
    /// `interpolate(scale_factor: s, mode: "bilinear", align_corners:)`.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - scaleFactor: `s`, positive.
    ///   - alignCorners: maps the corner pixel centres onto each other.
    /// - Returns: `[N, C, s·H, s·W]`.
    public static func upsampleBilinear2d(_ input: Tensor, scaleFactor: Int, alignCorners: Bool = false) -> Tensor {
        precondition(scaleFactor > 0, "upsampleBilinear2d: scale factor \(scaleFactor) must be positive")
        precondition(input.rank == 4, "upsampleBilinear2d: input must be [N, C, H, W], got \(input.shape)")
        return upsampleBilinear2d(input, size: (input.shape[2] * scaleFactor, input.shape[3] * scaleFactor),
                                  alignCorners: alignCorners)
    }
}
