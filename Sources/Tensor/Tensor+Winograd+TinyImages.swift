// Winograd F(2×2, 3×3) for many tiny images (the extractor's 16×16 patches and the pooled maps
// after them), at inference: the same algorithm and filter transform as Tensor+Winograd.swift,
// laid out for images too small to vectorise along their rows.
//
// The images are processed 16 at a time in a `TinyImageBlock` (the image as the fastest index),
// so every input tile element of the 16 images is one contiguous `SIMD16` and the transforms
// Bᵀ d B and Aᵀ m A are whole-vector additions. The tiles of a block are processed in chunks (the
// transformed inputs and products of a chunk within `ConvolutionDispatch.winogradBlockBudget`,
// so they stay in L2 across the 16 sgemms); the sgemm of position ξ is `[O, C] · [C, tiles·16]`.
// Each worker runs whole blocks on its own buffers with single-threaded sgemms, as the
// shifted-window kernel does. `ConvolutionDispatch.usesWinogradForTinyImages` decides which
// convolutions of the general conv2d take this path, and TinyImagePipeline.swift chains it with
// the per-image steps around it; results are within float32 rounding of the direct sum, as for
// the large-image Winograd.

/// One 3×3 stride-1 convolution of a ``TinyImageBlock`` by Winograd F(2×2, 3×3): the input
/// block's frame is the padding (`top`, `left` zeros before each image, and its `rows`/`columns`
/// at least `2·tilesY + 2`/`2·tilesX + 2`), the output goes to the image positions of another
/// block.
package struct TinyImageWinograd: Sendable {
    /// The input block's layout; its `top` and `left` are the convolution's padding.
    package let input: TinyImageBlock
    /// Output channels `O`.
    package let outputChannels: Int
    /// Output height `H + 2·top − 2`.
    package let outputHeight: Int
    /// Output width `W + 2·left − 2`.
    package let outputWidth: Int
    /// 2×2 output tiles down and across.
    let tilesY: Int, tilesX: Int
    /// Tiles transformed and multiplied together (whole tile rows).
    let chunkTiles: Int

    /// The convolution of blocks laid out as `input` to `outputChannels` channels; `nil` when the
    /// frame is not a padding of at most 2 that Winograd's tiles fit in, or the output would be
    /// smaller than 2×2.
    package init?(input: TinyImageBlock, outputChannels: Int) {
        let outputHeight = input.height &+ 2 &* input.top &- 2, outputWidth = input.width &+ 2 &* input.left &- 2
        guard outputChannels > 0, input.top <= 2, input.left <= 2, outputHeight >= 2, outputWidth >= 2 else { return nil }
        let tilesY = (outputHeight &+ 1) / 2, tilesX = (outputWidth &+ 1) / 2
        guard input.rows >= 2 &* tilesY &+ 2, input.columns >= 2 &* tilesX &+ 2 else { return nil }
        self.input = input
        self.outputChannels = outputChannels
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
        self.tilesY = tilesY
        self.tilesX = tilesX
        let lanes = TinyImageBlock.lanes
        let chunkRows = Swift.max(1, Swift.min(tilesY, ConvolutionDispatch.winogradBlockBudget
                                                 / (16 &* (input.channels &+ outputChannels) &* lanes &* tilesX)))
        chunkTiles = chunkRows &* tilesX
    }

    /// The layout of this convolution's output with a frame of `border` zeros.
    package func outputBlock(border: Int) -> TinyImageBlock {
        TinyImageBlock(channels: outputChannels, height: outputHeight, width: outputWidth, border: border)
    }

    /// Floats of scratch space ``convolve(_:filters:bias:into:_:scratch:)`` needs.
    package var scratchFloats: Int {
        let columns = chunkTiles &* TinyImageBlock.lanes
        return 16 &* (Self.positionStride(input.channels, columns: columns) &+ Self.positionStride(outputChannels, columns: columns))
    }

    /// The transformed filters `[16, O, C]` of `weight` (`[O, C, 3, 3]`).
    package func transformedFilters(_ weight: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>) {
        Tensor.winogradFilterTransform(weight, outputChannels: outputChannels, inputChannels: input.channels, into: u)
    }

    /// Writes `conv(block) + bias` into the image positions of `output` (laid out as `outputLayout`:
    /// `outputChannels × outputHeight × outputWidth` images, any frame); the 16 lanes at once.
    ///
    /// - Parameters:
    ///   - block: the input block, laid out as ``input``.
    ///   - filters: ``transformedFilters(_:into:)`` of the weight.
    ///   - bias: `[O]`, or `nil`.
    ///   - scratch: ``scratchFloats`` floats.
    package func convolve(_ block: UnsafePointer<Float>, filters: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                          into output: UnsafeMutablePointer<Float>, _ outputLayout: TinyImageBlock,
                          scratch: UnsafeMutablePointer<Float>) {
        let C = input.channels, O = outputChannels, lanes = TinyImageBlock.lanes
        let v = scratch, m = scratch + 16 &* Self.positionStride(C, columns: chunkTiles &* lanes)
        let tiles = tilesY &* tilesX
        var firstTile = 0
        while firstTile < tiles {
            let chunk = Swift.min(chunkTiles, tiles &- firstTile)
            inputTransform(block, firstTile: firstTile, tiles: chunk, into: v)
            let n = chunk &* lanes
            let vStride = Self.positionStride(C, columns: n), mStride = Self.positionStride(O, columns: n)
            for xi in 0..<16 {
                Tensor.serialGemm(filters + (xi &* O &* C), transposeA: false, v + (xi &* vStride), transposeB: false,
                                  m: O, n: n, k: C, into: m + (xi &* mStride), beta: 0, lda: C, ldb: n, ldc: n)
            }
            outputTransform(m, bias: bias, firstTile: firstTile, tiles: chunk, into: output, outputLayout)
            firstTile &+= chunk
        }
    }

    /// The floats from one transformed position ξ of a chunk to the next (`V` or `M`, `rows`
    /// channels of `columns` floats): `rows·columns` plus one vector, so that the 16 positions of
    /// a tile, read or written together, are not a multiple of 4 KB apart and do not all fall into
    /// the same L1 cache set.
    static func positionStride(_ rows: Int, columns: Int) -> Int { rows &* columns &+ 16 }

    /// `V[ξ][c][(t − firstTile)·16 + lane] = (Bᵀ d B)[ξ]` for tiles `firstTile..<firstTile + tiles`
    /// of every channel, `d` the 4×4 framed window at `(2·ty, 2·tx)` of tile `t = ty·tilesX + tx`,
    /// `Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]`; all 16 images at once.
    private func inputTransform(_ block: UnsafePointer<Float>, firstTile: Int, tiles: Int, into v: UnsafeMutablePointer<Float>) {
        let C = input.channels, lanes = TinyImageBlock.lanes
        let rowStride = input.rowStride, channelStride = input.channelStride
        let n = tiles &* lanes, positionStride = Self.positionStride(C, columns: n)
        for c in 0..<C {
            let channel = block + (c &* channelStride)
            for index in 0..<tiles {
                let t = firstTile &+ index
                let ty = t / tilesX, tx = t &- ty &* tilesX
                let windowOffset: Int = 2 &* ty &* rowStride &+ 2 &* tx &* lanes
                let window = channel + windowOffset
                @inline(__always) func d(_ i: Int, _ j: Int) -> SIMD16<Float> { Tensor.load16(window + (i &* rowStride), j &* lanes) }
                // Bᵀ along y, column by column, then B along x, row by row; ξ = 4i + j.
                let c0 = Self.bt(d(0, 0), d(1, 0), d(2, 0), d(3, 0)), c1 = Self.bt(d(0, 1), d(1, 1), d(2, 1), d(3, 1))
                let c2 = Self.bt(d(0, 2), d(1, 2), d(2, 2), d(3, 2)), c3 = Self.bt(d(0, 3), d(1, 3), d(2, 3), d(3, 3))
                let targetOffset: Int = c &* n &+ index &* lanes
                let target = v + targetOffset
                @inline(__always) func put(_ i: Int, _ row: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)) {
                    let p = target + (4 &* i &* positionStride)
                    let (x0, x1, x2, x3) = Self.bt(row.0, row.1, row.2, row.3)
                    Tensor.store16(x0, p)
                    Tensor.store16(x1, p + positionStride)
                    Tensor.store16(x2, p + 2 &* positionStride)
                    Tensor.store16(x3, p + 3 &* positionStride)
                }
                put(0, (c0.0, c1.0, c2.0, c3.0))
                put(1, (c0.1, c1.1, c2.1, c3.1))
                put(2, (c0.2, c1.2, c2.2, c3.2))
                put(3, (c0.3, c1.3, c2.3, c3.3))
            }
        }
    }

    /// `Bᵀ · (x0, x1, x2, x3)` with `Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]`,
    /// sixteen lanes at a time.
    @inline(__always)
    private static func bt(_ x0: SIMD16<Float>, _ x1: SIMD16<Float>, _ x2: SIMD16<Float>, _ x3: SIMD16<Float>)
        -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
        (x0 - x2, x1 + x2, x2 - x1, x1 - x3)
    }

    /// `output = Aᵀ M A + bias` for tiles `firstTile..<firstTile + tiles`, `Aᵀ = [[1, 1, 1, 0],
    /// [0, 1, −1, −1]]`; `m` holds `M[ξ][o][(t − firstTile)·16 + lane]`. Each output pixel of the 16
    /// images is one vector store into `output`'s image positions; outputs past the last row or
    /// column (odd sizes) are dropped.
    private func outputTransform(_ m: UnsafePointer<Float>, bias: UnsafePointer<Float>?, firstTile: Int, tiles: Int,
                                 into output: UnsafeMutablePointer<Float>, _ layout: TinyImageBlock) {
        let O = outputChannels, lanes = TinyImageBlock.lanes
        let n = tiles &* lanes, positionStride = Self.positionStride(O, columns: n)
        let rowStride = layout.rowStride
        for o in 0..<O {
            let shift = SIMD16<Float>(repeating: bias?[o] ?? 0)
            for index in 0..<tiles {
                let t = firstTile &+ index
                let ty = t / tilesX, tx = t &- ty &* tilesX
                let baseOffset: Int = o &* n &+ index &* lanes
                let base = m + baseOffset
                @inline(__always) func p(_ xi: Int) -> SIMD16<Float> { Tensor.load16(base + (xi &* positionStride), 0) }
                let u00 = p(0) + p(4) + p(8), u01 = p(1) + p(5) + p(9)
                let u02 = p(2) + p(6) + p(10), u03 = p(3) + p(7) + p(11)
                let u10 = p(4) - p(8) - p(12), u11 = p(5) - p(9) - p(13)
                let u12 = p(6) - p(10) - p(14), u13 = p(7) - p(11) - p(15)
                let oy = 2 &* ty, ox = 2 &* tx
                let top = output + layout.offset(o, oy, ox)
                let fullWidth = ox &+ 1 < outputWidth
                Tensor.store16(u00 + u01 + u02 + shift, top)
                if fullWidth { Tensor.store16(u01 - u02 - u03 + shift, top + lanes) }
                if oy &+ 1 < outputHeight {
                    let bottom = top + rowStride
                    Tensor.store16(u10 + u11 + u12 + shift, bottom)
                    if fullWidth { Tensor.store16(u11 - u12 - u13 + shift, bottom + lanes) }
                }
            }
        }
    }
}

extension Tensor {
    /// Forward 3×3 stride-1 convolution of many tiny images by Winograd F(2×2, 3×3):
    /// `output[N, O, Ho, Wo]` from `input[N, C, H, W]`, `weight[O, C, 3, 3]` and `bias[O]`,
    /// 16 images side by side per block (the last block may be partial).
    static func winogradForwardTinyImages(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                          bias: UnsafePointer<Float>?, _ g: ConvolutionGeometry,
                                          into output: UnsafeMutablePointer<Float>) {
        let tilesY = (g.outputHeight &+ 1) / 2, tilesX = (g.outputWidth &+ 1) / 2
        let framed = TinyImageBlock(channels: g.inputChannels, height: g.inputHeight, width: g.inputWidth,
                                    top: g.paddingY, left: g.paddingX, rows: 2 &* tilesY &+ 2, columns: 2 &* tilesX &+ 2)
        // usesWinogradForTinyImages has checked what the plan needs.
        guard let plan = TinyImageWinograd(input: framed, outputChannels: g.outputChannels) else {
            preconditionFailure("winogradForwardTinyImages: geometry outside Winograd's")
        }
        let produced = plan.outputBlock(border: 0)
        let uStorage = Tensor(uninitializedShape: [16, g.outputChannels, g.inputChannels])
        defer { withExtendedLifetime(uStorage) {} }
        plan.transformedFilters(weight, into: uStorage.storage.baseAddress)
        let lanes = TinyImageBlock.lanes
        let blocks = (g.batch &+ lanes &- 1) / lanes
        let filters = SendablePointer(uStorage.storage.baseAddress), destination = SendablePointer(output)
        let source = SendablePointer(UnsafeMutablePointer(mutating: input))
        let bias = bias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        Parallel.forRanges(blocks, minimumChunk: 1) { firstBlock, endBlock in
            let padded = framed.allocateZeroed(), result = produced.allocateZeroed()
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: plan.scratchFloats)
            defer { padded.deallocate(); result.deallocate(); scratch.deallocate() }
            for block in firstBlock..<endBlock {
                let first = block &* lanes, count = Swift.min(lanes, g.batch &- first)
                framed.load(source.pointer, first: first, count: count, into: padded)
                plan.convolve(padded, filters: filters.pointer, bias: bias?.pointer, into: result, produced, scratch: scratch)
                produced.store(result, count: count, into: destination.pointer, first: first)
            }
        }
    }
}
