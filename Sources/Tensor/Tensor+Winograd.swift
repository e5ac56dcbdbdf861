// Winograd F(2×2, 3×3) forward convolution (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", CVPR 2016) for the 3×3, stride-1 convolutions that dominate the Stable
// Diffusion U-Net and VAE. (Many tiny images, the extractor's 16×16 patches at inference, take
// the blocked variant in Tensor+Winograd+TinyImages.swift, with the same filter transform.)
//
// Each 2×2 block of outputs of channel o is Aᵀ [Σ_c (G g_{o,c} Gᵀ) ⊙ (Bᵀ d_c B)] A, where d_c is
// the 4×4 input tile of channel c. With the 16 transformed positions ξ as the outer index this is
// 16 matrix products U[ξ] · V[ξ] of [O, C] by [C, tiles]: 16 multiplications per 2×2 outputs and
// input channel instead of 36, so 2.25× fewer flops in the sgemms, plus transforms that only
// add and subtract (and halve, in G: every coefficient is exact in binary). Errors stay at the
// level of the direct sum for F(2×2, 3×3); the larger F(4×4, 3×3) is not used for that reason.
//
// Memory: the transformed filters (16·O·C floats) and, per chunk of tile rows, the transformed
// inputs and products (16·(C + O) floats per tile) — bounded by `ConvolutionDispatch.winogradChunkBudget`;
// `ConvolutionDispatch.usesWinograd` decides which convolutions take this path.
// Only the forward pass uses it; gradients go through the im2col kernels (the same function).
// `referenceConv2d` is the naive reference the tests compare with.

/// Switches for the convolution algorithms.
public enum ConvolutionAlgorithms {
    /// Whether large 3×3 stride-1 forward convolutions use Winograd F(2×2, 3×3) (the default):
    /// 2.25× fewer multiplications, results within float32 rounding of the direct sum but not
    /// bit-identical to it. Bind to `false` (`ConvolutionAlgorithms.$winogradEnabled.withValue(false) { … }`)
    /// to force the im2col kernel, for comparisons.
    @TaskLocal public static var winogradEnabled = true

    /// Whether stacks of per-image operations on many tiny images (the extractor's per-patch
    /// convolutions, layer norms and pooling at inference) run as one pipeline of blocks of 16
    /// images (the default, when ``winogradEnabled`` is too): the same values as the layer-by-layer
    /// path within float32 rounding. Bind to `false` to force the layer-by-layer path, for
    /// comparisons.
    @TaskLocal public static var patchBlocksEnabled = true
}

extension Tensor {
    /// Transforms `[O, C, 3, 3]` filters into `U[ξ][o][c] = (G g Gᵀ)[ξ]` (`[16, O, C]`), with
    /// `G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]`; sixteen filters at a time, so the
    /// arithmetic and the stores are vector operations.
    static func winogradFilterTransform(_ weight: UnsafePointer<Float>, outputChannels O: Int, inputChannels C: Int,
                                        into u: UnsafeMutablePointer<Float>) {
        let plane = O &* C
        let destination = SendablePointer(u)
        Parallel.forRanges(plane, minimumChunk: 1 << 12) { start, end in
            let u = destination.pointer
            // g[0…8] of sixteen filters, then G·g (rows 0…3 × columns 0…2, at 4·row + column).
            let g = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: 9 &+ 16)
            defer { g.deallocate() }
            let t = g + 9
            var index = start
            while index < end {
                let lanes = Swift.min(16, end &- index)
                for k in 0..<9 { g[k] = .zero }
                for lane in 0..<lanes {
                    let filter = weight + (index &+ lane) &* 9
                    for k in 0..<9 { g[k][lane] = filter[k] }
                }
                for column in 0..<3 {  // G · g, column by column
                    let g0 = g[column], g1 = g[3 &+ column], g2 = g[6 &+ column]
                    t[column] = g0
                    t[4 &+ column] = 0.5 * (g0 + g1 + g2)
                    t[8 &+ column] = 0.5 * (g0 - g1 + g2)
                    t[12 &+ column] = g2
                }
                for row in 0..<4 {  // (G · g) · Gᵀ, row by row: ξ = 4·row + l
                    let a0 = t[4 &* row], a1 = t[4 &* row &+ 1], a2 = t[4 &* row &+ 2]
                    for l in 0..<4 {
                        let value: SIMD16<Float>
                        switch l {
                        case 0: value = a0
                        case 1: value = 0.5 * (a0 + a1 + a2)
                        case 2: value = 0.5 * (a0 - a1 + a2)
                        default: value = a2
                        }
                        let target = u + ((4 &* row &+ l) &* plane &+ index)
                        if lanes == 16 {
                            UnsafeMutableRawPointer(target).storeBytes(of: value, as: SIMD16<Float>.self)
                        } else {
                            for lane in 0..<lanes { target[lane] = value[lane] }
                        }
                    }
                }
                index &+= lanes
            }
        }
    }

    /// One Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]] over `count` lanes:
    /// `d0 = x0 − x2`, `d1 = x1 + x2`, `d2 = x2 − x1`, `d3 = x1 − x3`, element by element. Along y
    /// the four inputs are four rows; along x they are the even and odd columns of a row and the
    /// same two shifted by one (`e`, `o`, `e + 1`, `o + 1`).
    @inline(__always)
    static func winogradInputTransform(_ x0: UnsafePointer<Float>, _ x1: UnsafePointer<Float>,
                                       _ x2: UnsafePointer<Float>, _ x3: UnsafePointer<Float>, count: Int,
                                       _ d0: UnsafeMutablePointer<Float>, _ d1: UnsafeMutablePointer<Float>,
                                       _ d2: UnsafeMutablePointer<Float>, _ d3: UnsafeMutablePointer<Float>) {
        var t = 0
        while t &+ 16 <= count {
            let a = load16(x0, t), b = load16(x1, t), c = load16(x2, t), d = load16(x3, t)
            UnsafeMutableRawPointer(d0 + t).storeBytes(of: a - c, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(d1 + t).storeBytes(of: b + c, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(d2 + t).storeBytes(of: c - b, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(d3 + t).storeBytes(of: b - d, as: SIMD16<Float>.self)
            t &+= 16
        }
        while t < count {
            d0[t] = x0[t] - x2[t]
            d1[t] = x1[t] + x2[t]
            d2[t] = x2[t] - x1[t]
            d3[t] = x1[t] - x3[t]
            t &+= 1
        }
    }

    /// Forward 3×3 stride-1 convolution by Winograd F(2×2, 3×3): `output[N, O, Ho, Wo]` from
    /// `input[N, C, H, W]`, `weight[O, C, 3, 3]` and `bias[O]`.
    static func winogradForward(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                bias: UnsafePointer<Float>?, _ g: ConvolutionGeometry,
                                into output: UnsafeMutablePointer<Float>) {
        let C = g.inputChannels, O = g.outputChannels, H = g.inputHeight, W = g.inputWidth
        let Ho = g.outputHeight, Wo = g.outputWidth, pY = g.paddingY, pX = g.paddingX
        let tilesY = (Ho &+ 1) / 2, tilesX = (Wo &+ 1) / 2
        let chunkRows = Swift.max(1, Swift.min(tilesY, ConvolutionDispatch.winogradChunkBudget / Swift.max(16 &* (C &+ O) &* tilesX, 1)))
        let chunkTiles = chunkRows &* tilesX
        // Scratch as tensors, so large buffers come from (and go back to) the buffer cache.
        let uStorage = Tensor(uninitializedShape: [16, O, C])
        let vStorage = Tensor(uninitializedShape: [16, C, chunkTiles])
        let mStorage = Tensor(uninitializedShape: [16, O, chunkTiles])
        let u = uStorage.storage.baseAddress, v = vStorage.storage.baseAddress, m = mStorage.storage.baseAddress
        defer { withExtendedLifetime((uStorage, vStorage, mStorage)) {} }
        winogradFilterTransform(weight, outputChannels: O, inputChannels: C, into: u)
        let vPointer = SendablePointer(v), mPointer = SendablePointer(m), outPointer = SendablePointer(output)
        // A padded row holds input columns −pX ..< 2·tilesX + 2 − pX, as tilesX + 1 even and odd ones.
        let paddedWidth = 2 &* tilesX &+ 2, halfWidth = tilesX &+ 1
        for n in 0..<g.batch {
            let x = input + n &* C &* H &* W
            let y = n &* O &* Ho &* Wo
            var firstRow = 0
            while firstRow < tilesY {
                let rows = Swift.min(chunkRows, tilesY &- firstRow), tiles = rows &* tilesX
                // V[ξ][c][t] = (Bᵀ d B)[ξ], Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]].
                // Each of the four input rows of a tile row is split into its even and odd padded
                // columns (tile t reads even t, t+1 and odd t, t+1), so both halves of the
                // transform run on contiguous vectors.
                Parallel.forRanges(C, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(tiles &* 16, 1))) { start, end in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 16 &* halfWidth)
                    defer { scratch.deallocate() }
                    let v = vPointer.pointer
                    // Rows r0…r3 then the y-transformed rows a0…a3, each as even then odd halves.
                    func row(_ k: Int, odd: Bool) -> UnsafeMutablePointer<Float> { scratch + (2 &* k &+ (odd ? 1 : 0)) &* halfWidth }
                    for c in start..<end {
                        let channel = x + c &* H &* W
                        for ty in firstRow..<(firstRow &+ rows) {
                            for i in 0..<4 {
                                let even = row(i, odd: false), odd = row(i, odd: true)
                                even.update(repeating: 0, count: halfWidth)
                                odd.update(repeating: 0, count: halfWidth)
                                let iy = 2 &* ty &+ i &- pY
                                guard iy >= 0 && iy < H else { continue }
                                let source = channel + iy &* W
                                // Padded column k holds input column k − pX.
                                for column in 0..<W {
                                    let k = column &+ pX
                                    guard k < paddedWidth else { break }
                                    if k & 1 == 0 { even[k >> 1] = source[column] } else { odd[k >> 1] = source[column] }
                                }
                            }
                            for half in 0..<2 {  // Bᵀ along y, even then odd columns
                                let odd = half == 1
                                let r0 = row(0, odd: odd), r1 = row(1, odd: odd), r2 = row(2, odd: odd), r3 = row(3, odd: odd)
                                let a0 = row(4, odd: odd), a1 = row(5, odd: odd), a2 = row(6, odd: odd), a3 = row(7, odd: odd)
                                winogradInputTransform(r0, r1, r2, r3, count: halfWidth, a0, a1, a2, a3)
                            }
                            // B along x into ξ = 4i + j.
                            let tileBase = (ty &- firstRow) &* tilesX
                            for i in 0..<4 {
                                let stride: Int = C &* tiles
                                let first: Int = (4 &* i &* C &+ c) &* tiles &+ tileBase
                                let d0 = v + first, d1 = d0 + stride, d2 = d1 + stride, d3 = d2 + stride
                                let even = row(4 &+ i, odd: false), odd = row(4 &+ i, odd: true)
                                winogradInputTransform(even, odd, even + 1, odd + 1, count: tilesX, d0, d1, d2, d3)
                            }
                        }
                    }
                }
                // M[ξ] = U[ξ] · V[ξ]: [O, C] · [C, tiles].
                for xi in 0..<16 {
                    gemm(u + xi &* O &* C, transposeA: false, v + xi &* C &* tiles, transposeB: false,
                         m: O, n: tiles, k: C, into: m + xi &* O &* tiles)
                }
                // Y = Aᵀ M A + bias, Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]], sixteen tiles at a time.
                Parallel.forRanges(O, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(tiles &* 16, 1))) { start, end in
                    let m = mPointer.pointer, out = outPointer.pointer
                    for o in start..<end {
                        let shift = SIMD16<Float>(repeating: bias?[o] ?? 0)
                        let base = m + o &* tiles, stride = O &* tiles
                        let plane = out + (y &+ o &* Ho &* Wo)
                        for ty in firstRow..<(firstRow &+ rows) {
                            let oy = 2 &* ty
                            let top = plane + oy &* Wo, bottom = top + Wo
                            let hasBottom = oy &+ 1 < Ho
                            let tileBase = (ty &- firstRow) &* tilesX
                            var tx = 0
                            while tx < tilesX {
                                let lanes = Swift.min(16, tilesX &- tx)
                                let t = tileBase &+ tx
                                @inline(__always) func p(_ xi: Int) -> SIMD16<Float> {
                                    if lanes == 16 { return load16(base + xi &* stride, t) }
                                    var v = SIMD16<Float>()
                                    for lane in 0..<lanes { v[lane] = base[xi &* stride &+ t &+ lane] }
                                    return v
                                }
                                // Along y: u0 = m0 + m1 + m2, u1 = m1 − m2 − m3 (rows of 4); then along x.
                                let u00 = p(0) + p(4) + p(8), u01 = p(1) + p(5) + p(9)
                                let u02 = p(2) + p(6) + p(10), u03 = p(3) + p(7) + p(11)
                                let u10 = p(4) - p(8) - p(12), u11 = p(5) - p(9) - p(13)
                                let u12 = p(6) - p(10) - p(14), u13 = p(7) - p(11) - p(15)
                                let y00 = u00 + u01 + u02 + shift, y01 = u01 - u02 - u03 + shift
                                let y10 = u10 + u11 + u12 + shift, y11 = u11 - u12 - u13 + shift
                                for lane in 0..<lanes {
                                    let ox = 2 &* (tx &+ lane)
                                    top[ox] = y00[lane]
                                    if ox &+ 1 < Wo { top[ox &+ 1] = y01[lane] }
                                    if hasBottom {
                                        bottom[ox] = y10[lane]
                                        if ox &+ 1 < Wo { bottom[ox &+ 1] = y11[lane] }
                                    }
                                }
                                tx &+= lanes
                            }
                        }
                    }
                }
                firstRow &+= rows
            }
        }
    }
}
