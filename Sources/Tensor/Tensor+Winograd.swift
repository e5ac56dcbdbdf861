// Winograd F(2×2, 3×3) forward convolution (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", CVPR 2016) for the 3×3, stride-1 convolutions that dominate the Stable
// Diffusion U-Net and VAE.
//
// Each 2×2 block of outputs of channel o is Aᵀ [Σ_c (G g_{o,c} Gᵀ) ⊙ (Bᵀ d_c B)] A, where d_c is
// the 4×4 input tile of channel c. With the 16 transformed positions ξ as the outer index this is
// 16 matrix products U[ξ] · V[ξ] of [O, C] by [C, tiles]: 16 multiplications per 2×2 outputs and
// input channel instead of 36, so 2.25× fewer flops in the sgemms, plus transforms that only
// add and subtract (and halve, in G: every coefficient is exact in binary). Errors stay at the
// level of the direct sum for F(2×2, 3×3); the larger F(4×4, 3×3) is not used for that reason.
//
// Memory: the transformed filters (16·O·C floats) and, per chunk of tile rows, the transformed
// inputs and products (16·(C + O) floats per tile) — bounded by `winogradChunkBudget`.
// Only the forward pass uses it; gradients go through the im2col kernels (the same function).
// `referenceConv2d` is the naive reference the tests compare with.

/// Switches for the convolution algorithms.
public enum ConvolutionAlgorithms {
    /// Whether large 3×3 stride-1 forward convolutions use Winograd F(2×2, 3×3) (the default):
    /// 2.25× fewer multiplications, results within float32 rounding of the direct sum but not
    /// bit-identical to it. Bind to `false` (`ConvolutionAlgorithms.$winogradEnabled.withValue(false) { … }`)
    /// to force the im2col kernel, for comparisons.
    @TaskLocal public static var winogradEnabled = true
}

extension Tensor {
    /// The floats of transformed inputs and products held at once (128 MB); larger images are
    /// processed in chunks of tile rows.
    static let winogradChunkBudget = 1 << 25

    /// Whether ``winogradForward(_:weight:bias:_:into:)`` computes this convolution: 3×3,
    /// stride 1, no dilation, one group, padding at most 2, at least 128 input and output
    /// channels and 32×32 outputs (below that the 16 thin sgemms, which read 16/9 as many
    /// weights, lose to one im2col sgemm), and transformed filters of at most 32 M floats.
    static func usesWinograd(_ g: ConvolutionGeometry) -> Bool {
        ConvolutionAlgorithms.winogradEnabled
            && g.kernelHeight == 3 && g.kernelWidth == 3 && g.strideY == 1 && g.strideX == 1
            && g.dilationY == 1 && g.dilationX == 1 && g.groups == 1
            && g.paddingY <= 2 && g.paddingX <= 2
            && g.inputChannels >= 128 && g.outputChannels >= 128
            && g.outputPlane >= 1024 && g.outputHeight >= 2 && g.outputWidth >= 2
            && 16 &* g.inputChannels &* g.outputChannels <= 1 << 25
    }

    /// Transforms `[O, C, 3, 3]` filters into `U[ξ][o][c] = (G g Gᵀ)[ξ]` (`[16, O, C]`), with
    /// `G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]`.
    static func winogradFilterTransform(_ weight: UnsafePointer<Float>, outputChannels O: Int, inputChannels C: Int,
                                        into u: UnsafeMutablePointer<Float>) {
        let plane = O &* C
        let destination = SendablePointer(u)
        Parallel.forRanges(plane, minimumChunk: 1 << 12) { start, end in
            let u = destination.pointer
            for index in start..<end {
                let g = weight + index &* 9
                // Columns j of G·g (4-vectors over the rows i of the result).
                let c0 = SIMD4<Float>(g[0], 0.5 * (g[0] + g[3] + g[6]), 0.5 * (g[0] - g[3] + g[6]), g[6])
                let c1 = SIMD4<Float>(g[1], 0.5 * (g[1] + g[4] + g[7]), 0.5 * (g[1] - g[4] + g[7]), g[7])
                let c2 = SIMD4<Float>(g[2], 0.5 * (g[2] + g[5] + g[8]), 0.5 * (g[2] - g[5] + g[8]), g[8])
                // Columns l of (G·g)·Gᵀ.
                let t0 = c0, t1 = 0.5 * (c0 + c1 + c2), t2 = 0.5 * (c0 - c1 + c2), t3 = c2
                for i in 0..<4 {
                    u[(i &* 4) &* plane &+ index] = t0[i]
                    u[(i &* 4 &+ 1) &* plane &+ index] = t1[i]
                    u[(i &* 4 &+ 2) &* plane &+ index] = t2[i]
                    u[(i &* 4 &+ 3) &* plane &+ index] = t3[i]
                }
            }
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
        let chunkRows = Swift.max(1, Swift.min(tilesY, winogradChunkBudget / Swift.max(16 &* (C &+ O) &* tilesX, 1)))
        let chunkTiles = chunkRows &* tilesX
        // Scratch as tensors, so large buffers come from (and go back to) the buffer cache.
        let uStorage = Tensor(uninitializedShape: [16, O, C])
        let vStorage = Tensor(uninitializedShape: [16, C, chunkTiles])
        let mStorage = Tensor(uninitializedShape: [16, O, chunkTiles])
        let u = uStorage.storage.baseAddress, v = vStorage.storage.baseAddress, m = mStorage.storage.baseAddress
        defer { withExtendedLifetime((uStorage, vStorage, mStorage)) {} }
        winogradFilterTransform(weight, outputChannels: O, inputChannels: C, into: u)
        let vPointer = SendablePointer(v), mPointer = SendablePointer(m), outPointer = SendablePointer(output)
        // A padded row holds input columns −pX ..< 2·tilesX + 2 − pX.
        let paddedWidth = 2 &* tilesX &+ 2
        for n in 0..<g.batch {
            let x = input + n &* C &* H &* W
            let y = n &* O &* Ho &* Wo
            var firstRow = 0
            while firstRow < tilesY {
                let rows = Swift.min(chunkRows, tilesY &- firstRow), tiles = rows &* tilesX
                // V[ξ][c][t] = (Bᵀ d B)[ξ], Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]].
                Parallel.forRanges(C, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(tiles &* 16, 1))) { start, end in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 8 &* paddedWidth)
                    defer { scratch.deallocate() }
                    let r = scratch, a = scratch + 4 &* paddedWidth
                    let v = vPointer.pointer
                    for c in start..<end {
                        let channel = x + c &* H &* W
                        for ty in firstRow..<(firstRow &+ rows) {
                            // The four input rows of this tile row, zero-padded.
                            for i in 0..<4 {
                                let row = r + i &* paddedWidth
                                let iy = 2 &* ty &+ i &- pY
                                row.update(repeating: 0, count: paddedWidth)
                                if iy >= 0 && iy < H {
                                    let lo = Swift.max(0, pX), hi = Swift.min(paddedWidth, W &+ pX)
                                    if hi > lo { (row + lo).update(from: channel + (iy &* W &+ lo &- pX), count: hi &- lo) }
                                }
                            }
                            // Bᵀ along y, whole rows at once.
                            let r0 = r, r1 = r + paddedWidth, r2 = r + 2 &* paddedWidth, r3 = r + 3 &* paddedWidth
                            let a0 = a, a1 = a + paddedWidth, a2 = a + 2 &* paddedWidth, a3 = a + 3 &* paddedWidth
                            for k in 0..<paddedWidth {
                                a0[k] = r0[k] - r2[k]
                                a1[k] = r1[k] + r2[k]
                                a2[k] = r2[k] - r1[k]
                                a3[k] = r1[k] - r3[k]
                            }
                            // B along x, tile by tile; ξ = 4i + j.
                            let tileBase = (ty &- firstRow) &* tilesX
                            for i in 0..<4 {
                                let ai = a + i &* paddedWidth
                                let stride: Int = C &* tiles
                                let first: Int = (4 &* i &* C &+ c) &* tiles &+ tileBase
                                let d0 = v + first, d1 = d0 + stride, d2 = d1 + stride, d3 = d2 + stride
                                for tx in 0..<tilesX {
                                    let k = 2 &* tx
                                    let e0 = ai[k], e1 = ai[k &+ 1], e2 = ai[k &+ 2], e3 = ai[k &+ 3]
                                    d0[tx] = e0 - e2
                                    d1[tx] = e1 + e2
                                    d2[tx] = e2 - e1
                                    d3[tx] = e1 - e3
                                }
                            }
                        }
                    }
                }
                // M[ξ] = U[ξ] · V[ξ]: [O, C] · [C, tiles].
                for xi in 0..<16 {
                    gemm(u + xi &* O &* C, transposeA: false, v + xi &* C &* tiles, transposeB: false,
                         m: O, n: tiles, k: C, into: m + xi &* O &* tiles)
                }
                // Y = Aᵀ M A + bias, Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]].
                Parallel.forRanges(O, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(tiles &* 16, 1))) { start, end in
                    let m = mPointer.pointer, out = outPointer.pointer
                    for o in start..<end {
                        let shift = bias?[o] ?? 0
                        var p = [UnsafeMutablePointer<Float>]()
                        p.reserveCapacity(16)
                        for xi in 0..<16 { p.append(m + (xi &* O &+ o) &* tiles) }
                        let plane = out + (y &+ o &* Ho &* Wo)
                        for ty in firstRow..<(firstRow &+ rows) {
                            let oy = 2 &* ty
                            let top = plane + oy &* Wo
                            let hasBottom = oy &+ 1 < Ho
                            let bottom = top + Wo
                            let tileBase = (ty &- firstRow) &* tilesX
                            for tx in 0..<tilesX {
                                let t = tileBase &+ tx
                                // Along y: u0 = m0 + m1 + m2, u1 = m1 − m2 − m3 (rows of 4).
                                let u00 = p[0][t] + p[4][t] + p[8][t], u01 = p[1][t] + p[5][t] + p[9][t]
                                let u02 = p[2][t] + p[6][t] + p[10][t], u03 = p[3][t] + p[7][t] + p[11][t]
                                let u10 = p[4][t] - p[8][t] - p[12][t], u11 = p[5][t] - p[9][t] - p[13][t]
                                let u12 = p[6][t] - p[10][t] - p[14][t], u13 = p[7][t] - p[11][t] - p[15][t]
                                let ox = 2 &* tx
                                top[ox] = u00 + u01 + u02 + shift
                                if ox &+ 1 < Wo { top[ox &+ 1] = u01 - u02 - u03 + shift }
                                if hasBottom {
                                    bottom[ox] = u10 + u11 + u12 + shift
                                    if ox &+ 1 < Wo { bottom[ox &+ 1] = u11 - u12 - u13 + shift }
                                }
                            }
                        }
                    }
                }
                firstRow &+= rows
            }
        }
    }
}
