// Winograd F(2×2, 3×3) for many tiny images (the extractor's 16×16 patches and the pooled maps
// after them), at inference: the same algorithm and filter transform as Tensor+Winograd.swift,
// laid out for images too small to vectorise along their rows.
//
// A block of 16 images is first copied into a zero-padded buffer with the image as the fastest
// index (`P[c][y][x][lane]`), so every input tile element of the 16 images is one contiguous
// `SIMD16` and the transforms Bᵀ d B and Aᵀ m A are whole-vector additions. The tiles of a block
// are then processed in chunks (the transformed inputs and products of a chunk within
// `ConvolutionDispatch.winogradBlockBudget`, so they stay in L2 across the 16 sgemms); the
// sgemm of position ξ is `[O, C] · [C, tiles·16]`. Each worker runs whole blocks on its own
// buffers with single-threaded sgemms, as the shifted-window kernel does.
// `ConvolutionDispatch.usesWinogradForTinyImages` decides which convolutions take this path;
// results are within float32 rounding of the direct sum, as for the large-image Winograd.

extension Tensor {
    /// Forward 3×3 stride-1 convolution of many tiny images by Winograd F(2×2, 3×3):
    /// `output[N, O, Ho, Wo]` from `input[N, C, H, W]`, `weight[O, C, 3, 3]` and `bias[O]`,
    /// 16 images side by side per block (the last block may be partial).
    static func winogradForwardTinyImages(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                          bias: UnsafePointer<Float>?, _ g: ConvolutionGeometry,
                                          into output: UnsafeMutablePointer<Float>) {
        let C = g.inputChannels, O = g.outputChannels
        let lanes = ConvolutionDispatch.winogradBlockImages
        let uStorage = Tensor(uninitializedShape: [16, O, C])
        let u = uStorage.storage.baseAddress
        defer { withExtendedLifetime(uStorage) {} }
        winogradFilterTransform(weight, outputChannels: O, inputChannels: C, into: u)
        let tilesY = (g.outputHeight &+ 1) / 2, tilesX = (g.outputWidth &+ 1) / 2
        let tiles = tilesY &* tilesX
        // Chunks of whole tile rows (at least one: usesWinogradForTinyImages checks that one fits).
        let chunkRows = Swift.max(1, Swift.min(tilesY, ConvolutionDispatch.winogradBlockBudget / (16 &* (C &+ O) &* lanes &* tilesX)))
        let chunkTiles = chunkRows &* tilesX
        let paddedHeight = 2 &* tilesY &+ 2, paddedWidth = 2 &* tilesX &+ 2
        let blocks = (g.batch &+ lanes &- 1) / lanes
        let filters = SendablePointer(u), destination = SendablePointer(output)
        let source = SendablePointer(UnsafeMutablePointer(mutating: input))
        let bias = bias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        Parallel.forRanges(blocks, minimumChunk: 1) { firstBlock, endBlock in
            let paddedCount = C &* paddedHeight &* paddedWidth &* lanes
            let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedCount)
            let v = UnsafeMutablePointer<Float>.allocate(capacity: 16 &* winogradPositionStride(C, columns: chunkTiles &* lanes))
            let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 &* winogradPositionStride(O, columns: chunkTiles &* lanes))
            let stage = UnsafeMutablePointer<Float>.allocate(capacity: 4 &* tilesX &* lanes)
            defer { padded.deallocate(); v.deallocate(); m.deallocate(); stage.deallocate() }
            for block in firstBlock..<endBlock {
                let first = block &* lanes, count = Swift.min(lanes, g.batch &- first)
                padded.initialize(repeating: 0, count: paddedCount)
                winogradPadBlock(source.pointer, g, first: first, count: count, into: padded)
                var firstTile = 0
                while firstTile < tiles {
                    let chunk = Swift.min(chunkTiles, tiles &- firstTile)
                    winogradTinyInputTransform(padded, g, firstTile: firstTile, tiles: chunk, into: v)
                    let n = chunk &* lanes
                    let vStride = winogradPositionStride(C, columns: n), mStride = winogradPositionStride(O, columns: n)
                    for xi in 0..<16 {
                        serialGemm(filters.pointer + (xi &* O &* C), transposeA: false, v + (xi &* vStride), transposeB: false,
                                   m: O, n: n, k: C, into: m + (xi &* mStride), beta: 0, lda: C, ldb: n, ldc: n)
                    }
                    winogradTinyOutputTransform(m, bias: bias?.pointer, g, first: first, count: count,
                                                firstTile: firstTile, tiles: chunk, stage: stage, into: destination.pointer)
                    firstTile &+= chunk
                }
            }
        }
    }

    /// The floats from one transformed position ξ of a chunk to the next (`V` or `M`, `rows`
    /// channels of `columns` floats): `rows·columns` plus one vector, so that the 16 positions of
    /// a tile, read or written together, are not a multiple of 4 KB apart and do not all fall into
    /// the same L1 cache set.
    static func winogradPositionStride(_ rows: Int, columns: Int) -> Int { rows &* columns &+ 16 }

    /// Copies images `first..<first + count` into `padded` (`[C, 2·tilesY + 2, 2·tilesX + 2, 16]`,
    /// zeroed by the caller): input pixel `(y, x)` of image `first + lane` at padded position
    /// `(y + pY, x + pX)`, lane `lane`. Lanes past `count` stay zero.
    private static func winogradPadBlock(_ input: UnsafePointer<Float>, _ g: ConvolutionGeometry, first: Int, count: Int,
                                         into padded: UnsafeMutablePointer<Float>) {
        let C = g.inputChannels, H = g.inputHeight, W = g.inputWidth
        let lanes = ConvolutionDispatch.winogradBlockImages
        let paddedHeight = 2 &* ((g.outputHeight &+ 1) / 2) &+ 2, paddedWidth = 2 &* ((g.outputWidth &+ 1) / 2) &+ 2
        let plane = H &* W
        for c in 0..<C {
            for y in 0..<H {
                let rowOffset: Int = ((c &* paddedHeight &+ y &+ g.paddingY) &* paddedWidth &+ g.paddingX) &* lanes
                let row = padded + rowOffset
                for lane in 0..<count {
                    let sourceOffset: Int = ((first &+ lane) &* C &+ c) &* plane &+ y &* W
                    let source = input + sourceOffset
                    var target = row + lane
                    for x in 0..<W {
                        target.pointee = source[x]
                        target += lanes
                    }
                }
            }
        }
    }

    /// `V[ξ][c][(t − firstTile)·16 + lane] = (Bᵀ d B)[ξ]` for tiles `firstTile..<firstTile + tiles`
    /// of every channel, `d` the 4×4 padded window at `(2·ty, 2·tx)` of tile `t = ty·tilesX + tx`,
    /// `Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]`; all 16 images at once.
    private static func winogradTinyInputTransform(_ padded: UnsafePointer<Float>, _ g: ConvolutionGeometry,
                                                   firstTile: Int, tiles: Int, into v: UnsafeMutablePointer<Float>) {
        let C = g.inputChannels
        let lanes = ConvolutionDispatch.winogradBlockImages
        let tilesX = (g.outputWidth &+ 1) / 2
        let paddedHeight = 2 &* ((g.outputHeight &+ 1) / 2) &+ 2, paddedWidth = 2 &* tilesX &+ 2
        let rowStride = paddedWidth &* lanes
        let n = tiles &* lanes, positionStride = winogradPositionStride(C, columns: n)
        for c in 0..<C {
            let channel = padded + (c &* paddedHeight &* rowStride)
            for index in 0..<tiles {
                let t = firstTile &+ index
                let ty = t / tilesX, tx = t &- ty &* tilesX
                let windowOffset: Int = 2 &* ty &* rowStride &+ 2 &* tx &* lanes
                let window = channel + windowOffset
                @inline(__always) func d(_ i: Int, _ j: Int) -> SIMD16<Float> { load16(window + (i &* rowStride), j &* lanes) }
                // Bᵀ along y, column by column, then B along x, row by row; ξ = 4i + j.
                let c0 = bt(d(0, 0), d(1, 0), d(2, 0), d(3, 0)), c1 = bt(d(0, 1), d(1, 1), d(2, 1), d(3, 1))
                let c2 = bt(d(0, 2), d(1, 2), d(2, 2), d(3, 2)), c3 = bt(d(0, 3), d(1, 3), d(2, 3), d(3, 3))
                let targetOffset: Int = c &* n &+ index &* lanes
                let target = v + targetOffset
                @inline(__always) func put(_ i: Int, _ row: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)) {
                    let p = target + (4 &* i &* positionStride)
                    let (x0, x1, x2, x3) = bt(row.0, row.1, row.2, row.3)
                    store16(x0, p)
                    store16(x1, p + positionStride)
                    store16(x2, p + 2 &* positionStride)
                    store16(x3, p + 3 &* positionStride)
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

    /// `output = Aᵀ M A + bias` for tiles `firstTile..<firstTile + tiles` (whole tile rows) of
    /// images `first..<first + count`, `Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]`; `m` holds
    /// `M[ξ][o][(t − firstTile)·16 + lane]`. The two output rows of a tile row are staged image
    /// fastest (`stage`, `2·2·tilesX·16` floats), then written out row by row per image; outputs
    /// past `Ho` or `Wo` (odd sizes) are dropped.
    private static func winogradTinyOutputTransform(_ m: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                                    _ g: ConvolutionGeometry, first: Int, count: Int,
                                                    firstTile: Int, tiles: Int, stage: UnsafeMutablePointer<Float>,
                                                    into output: UnsafeMutablePointer<Float>) {
        let O = g.outputChannels, Ho = g.outputHeight, Wo = g.outputWidth
        let lanes = ConvolutionDispatch.winogradBlockImages
        let tilesX = (Wo &+ 1) / 2, stagedWidth = 2 &* tilesX
        let n = tiles &* lanes, positionStride = winogradPositionStride(O, columns: n)
        let imageStride = O &* Ho &* Wo
        for o in 0..<O {
            let shift = SIMD16<Float>(repeating: bias?[o] ?? 0)
            let plane = output + ((first &* O &+ o) &* Ho &* Wo)
            var index = 0
            while index < tiles {
                let ty = (firstTile &+ index) / tilesX
                for tx in 0..<tilesX {
                    let baseOffset: Int = o &* n &+ (index &+ tx) &* lanes
                    let base = m + baseOffset
                    @inline(__always) func p(_ xi: Int) -> SIMD16<Float> { load16(base + (xi &* positionStride), 0) }
                    let u00 = p(0) + p(4) + p(8), u01 = p(1) + p(5) + p(9)
                    let u02 = p(2) + p(6) + p(10), u03 = p(3) + p(7) + p(11)
                    let u10 = p(4) - p(8) - p(12), u11 = p(5) - p(9) - p(13)
                    let u12 = p(6) - p(10) - p(14), u13 = p(7) - p(11) - p(15)
                    let top = stage + (2 &* tx &* lanes), bottom = top + (stagedWidth &* lanes)
                    store16(u00 + u01 + u02 + shift, top)
                    store16(u01 - u02 - u03 + shift, top + lanes)
                    store16(u10 + u11 + u12 + shift, bottom)
                    store16(u11 - u12 - u13 + shift, bottom + lanes)
                }
                let oy = 2 &* ty, rows = Swift.min(2, Ho &- oy)
                for lane in 0..<count {
                    for row in 0..<rows {
                        let targetOffset: Int = lane &* imageStride &+ (oy &+ row) &* Wo
                        let target = plane + targetOffset
                        let source = stage + (row &* stagedWidth &* lanes &+ lane)
                        for x in 0..<Wo { target[x] = source[x &* lanes] }
                    }
                }
                index &+= tilesX
            }
        }
    }
}
