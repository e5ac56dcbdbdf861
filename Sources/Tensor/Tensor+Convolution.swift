// 2-D convolution and transposed convolution (NCHW, PyTorch weight layouts).
//
// Every kernel works on a `ConvolutionGeometry`, the sizes of one convolution from its input
// `[N, C, H, W]` to its output `[N, O, Ho, Wo]`. Three raw kernels cover both ops:
//   forward          y = conv(x, w)          im2col + one sgemm per image, group and row tile
//   input gradient   dx = convᵀ(dy, w)       sgemm + col2im
//   weight gradient  dw = dy · colsᵀ         im2col + sgemm
// A transposed convolution is the input gradient of the convolution it transposes, so its
// forward is the input-gradient kernel and its backward the forward and weight-gradient kernels.
// Depthwise convolutions (one input channel per group) use direct loops instead of tiny sgemms,
// and 1×1 stride-1 unpadded ones skip im2col (the image itself is the column matrix).
// The naive loops `referenceConv2d` and `referenceConvTranspose2d` are kept for tests and
// benchmarks.

/// The sizes of a 2-D convolution from `[batch, inputChannels, inputHeight, inputWidth]` to
/// `[batch, outputChannels, outputHeight, outputWidth]` with an
/// `[outputChannels, inputChannels / groups, kernelHeight, kernelWidth]` weight.
struct ConvolutionGeometry {
    let batch: Int
    let inputChannels: Int, inputHeight: Int, inputWidth: Int
    let outputChannels: Int, outputHeight: Int, outputWidth: Int
    let kernelHeight: Int, kernelWidth: Int
    let strideY: Int, strideX: Int
    let paddingY: Int, paddingX: Int
    let dilationY: Int, dilationX: Int
    let groups: Int

    /// Input channels per group (`C / groups`).
    var groupInputChannels: Int { inputChannels / groups }
    /// Output channels per group (`O / groups`).
    var groupOutputChannels: Int { outputChannels / groups }
    /// Rows of the column matrix of one group: `C / groups · kH · kW`.
    var patchSize: Int { groupInputChannels &* kernelHeight &* kernelWidth }
    var inputPlane: Int { inputHeight &* inputWidth }
    var outputPlane: Int { outputHeight &* outputWidth }
    /// A 1×1, stride-1, unpadded convolution: the input planes are the column matrix.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideY == 1 && strideX == 1 && paddingY == 0 && paddingX == 0
    }
    /// One input channel per group (and more than one group): computed with direct loops.
    var isDepthwise: Bool { groups > 1 && groups == inputChannels }

    /// The output extent of a convolution along one axis, as PyTorch's `conv2d`.
    static func outputSize(_ input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
        (input + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }

    /// The output positions `lo..<hi` (of `count`) whose input coordinate `o · stride + offset`
    /// falls inside `0..<size`.
    @inline(__always)
    static func validRange(offset: Int, stride: Int, size: Int, count: Int) -> (Int, Int) {
        let lo = offset >= 0 ? 0 : (stride - offset - 1) / stride
        let last = size - 1 - offset
        let hi = last < 0 ? 0 : Swift.min(count, last / stride + 1)
        return (Swift.min(lo, hi), hi)
    }
}

extension Tensor {
    /// The largest column matrix (in floats) built at once; larger images are tiled over output
    /// rows. 4 Mi floats (16 MB) keeps a 320-channel 3×3 convolution at 32×32 in a single sgemm.
    static let convolutionColumnBudget = 1 << 22

    /// The floats of padded input plus product (`(C + O)·B·Hp·Wp`) one block of the shifted-window
    /// convolution works on: 1 MB, so a block's operands stay in the cores' L2 caches across its
    /// kH·kW sgemms (12 images of the extractor's 32-channel 16×16 patches). Measured on the
    /// extractor's forward (1,024 patches, 2 cores, interleaved runs at load 10–12): best-of 1.75 s
    /// against 3.03 s with blocks of the 16 MB column budget, and ~15 % less CPU time.
    static let shiftedConvolutionBudget = 1 << 18

    /// Output rows per column tile for `geometry`.
    static func convolutionTileRows(_ geometry: ConvolutionGeometry) -> Int {
        let rowCost = Swift.max(1, geometry.patchSize &* geometry.outputWidth)
        return Swift.max(1, Swift.min(geometry.outputHeight, convolutionColumnBudget / rowCost))
    }

    // MARK: Row helpers

    /// `y[i·yStride] += a · x[i·xStride]` for `i < count`; the unit-stride case vectorises.
    @inline(__always)
    static func addScaled(_ a: Float, _ x: UnsafePointer<Float>, stride xStride: Int,
                          into y: UnsafeMutablePointer<Float>, stride yStride: Int, count: Int) {
        guard count > 0 else { return }
        if xStride == 1 && yStride == 1 {
            for i in 0..<count { y[i] += a * x[i] }
        } else {
            var i = 0, xi = 0, yi = 0
            while i < count { y[yi] += a * x[xi]; i &+= 1; xi &+= xStride; yi &+= yStride }
        }
    }

    /// Copies `count` floats with vector loads and stores: the rows of small images (16 floats
    /// for the extractor's patches) are too short for a `memmove` call to pay for itself.
    @inline(__always)
    static func copyRow(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 4 <= count {
            UnsafeMutableRawPointer(target + i).storeBytes(of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD4<Float>.self),
                                                          as: SIMD4<Float>.self)
            i &+= 4
        }
        while i < count { target[i] = source[i]; i &+= 1 }
    }

    /// `Σ a[i] · b[i·bStride]` for `i < count`, with SIMD accumulators when `bStride == 1`.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, stride bStride: Int, count: Int) -> Float {
        guard count > 0 else { return 0 }
        var i = 0, s: Float = 0
        if bStride == 1 {
            var accumulator = SIMD8<Float>()
            let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
            while i &+ 8 <= count {
                accumulator += ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
                    * rb.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
                i &+= 8
            }
            s = accumulator.sum()
        }
        while i < count { s += a[i] * b[i &* bStride]; i &+= 1 }
        return s
    }

    // MARK: im2col / col2im

    /// Writes the column matrix of one image and group for output rows `rowStart..<rowEnd`:
    /// `columns[(c·kH + ky)·kW + kx, (oy − rowStart)·Wo + ox] = x[c, oy·sY − pY + ky·dY, ox·sX − pX + kx·dX]`
    /// (zero outside the image). `input` points at the group's first channel.
    /// `leadingDimension` is the distance between column-matrix rows (default: the tile's width),
    /// so several images can share one column matrix side by side.
    static func im2col(_ input: UnsafePointer<Float>, _ g: ConvolutionGeometry, rowStart: Int, rowEnd: Int,
                       into columns: UnsafeMutablePointer<Float>, leadingDimension: Int? = nil) {
        let tileColumns = leadingDimension ?? (rowEnd - rowStart) &* g.outputWidth
        let out = SendablePointer(columns)
        Parallel.forRanges(g.patchSize, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(tileColumns, 1))) { start, end in
            im2colRows(input, g, rows: start..<end, rowStart: rowStart, rowEnd: rowEnd, leadingDimension: tileColumns, into: out.pointer)
        }
    }

    /// ``im2col`` of a whole image on the calling thread (for callers that spread images over
    /// the cores themselves).
    static func im2colSerial(_ input: UnsafePointer<Float>, _ g: ConvolutionGeometry, into columns: UnsafeMutablePointer<Float>,
                             leadingDimension: Int) {
        im2colRows(input, g, rows: 0..<g.patchSize, rowStart: 0, rowEnd: g.outputHeight, leadingDimension: leadingDimension,
                   into: columns)
    }

    /// Column-matrix rows `rows` (of ``im2col``) for output rows `rowStart..<rowEnd`.
    @inline(__always)
    static func im2colRows(_ input: UnsafePointer<Float>, _ g: ConvolutionGeometry, rows: Range<Int>, rowStart: Int, rowEnd: Int,
                           leadingDimension tileColumns: Int, into columns: UnsafeMutablePointer<Float>) {
        let kH = g.kernelHeight, kW = g.kernelWidth, H = g.inputHeight, W = g.inputWidth, Wo = g.outputWidth
        let sY = g.strideY, sX = g.strideX, pY = g.paddingY, dY = g.dilationY
        let kernelArea = kH &* kW, plane = g.inputPlane
        for k in rows {
            let c = k / kernelArea, r = k &- c &* kernelArea
            let ky = r / kW, kx = r &- ky &* kW
            let channel = input + c &* plane
            let offsetX = kx &* g.dilationX &- g.paddingX
            let (lo, hi) = ConvolutionGeometry.validRange(offset: offsetX, stride: sX, size: W, count: Wo)
            var dst = columns + k &* tileColumns
            for oy in rowStart..<rowEnd {
                let iy = oy &* sY &- pY &+ ky &* dY
                if iy < 0 || iy >= H || lo >= hi {
                    dst.update(repeating: 0, count: Wo)
                } else {
                    if lo > 0 { dst.update(repeating: 0, count: lo) }
                    let row = channel + iy &* W
                    if sX == 1 {
                        (dst + lo).update(from: row + (lo &+ offsetX), count: hi &- lo)
                    } else {
                        var ox = lo, ix = lo &* sX &+ offsetX
                        while ox < hi { dst[ox] = row[ix]; ox &+= 1; ix &+= sX }
                    }
                    if hi < Wo { (dst + hi).update(repeating: 0, count: Wo &- hi) }
                }
                dst += Wo
            }
        }
    }

    /// The adjoint of ``im2col``: adds every column entry back onto the input position it was
    /// read from. `input` points at the group's first channel and accumulates.
    static func col2im(_ columns: UnsafePointer<Float>, _ g: ConvolutionGeometry, rowStart: Int, rowEnd: Int,
                       into input: UnsafeMutablePointer<Float>) {
        let tileColumns = (rowEnd - rowStart) &* g.outputWidth
        let out = SendablePointer(input)
        // Split over channels: the kernel offsets of one channel all write into its plane.
        let grain = Swift.max(1, (1 << 15) / Swift.max(tileColumns &* g.kernelHeight &* g.kernelWidth, 1))
        Parallel.forRanges(g.groupInputChannels, minimumChunk: grain) { start, end in
            for c in start..<end {
                col2imChannel(columns, g, channel: c, rowStart: rowStart, rowEnd: rowEnd, leadingDimension: tileColumns, into: out.pointer)
            }
        }
    }

    /// ``col2im`` for one input channel `c`, on the calling thread: adds the column rows of `c`
    /// (`leadingDimension` apart) onto its plane of `input`.
    @inline(__always)
    static func col2imChannel(_ columns: UnsafePointer<Float>, _ g: ConvolutionGeometry, channel c: Int, rowStart: Int, rowEnd: Int,
                              leadingDimension: Int, into input: UnsafeMutablePointer<Float>) {
        let kH = g.kernelHeight, kW = g.kernelWidth, H = g.inputHeight, W = g.inputWidth, Wo = g.outputWidth
        let sY = g.strideY, sX = g.strideX, pY = g.paddingY, dY = g.dilationY
        let kernelArea = kH &* kW
        let channel = input + c &* g.inputPlane
        for ky in 0..<kH {
            for kx in 0..<kW {
                let k = c &* kernelArea &+ ky &* kW &+ kx
                let offsetX = kx &* g.dilationX &- g.paddingX
                let (lo, hi) = ConvolutionGeometry.validRange(offset: offsetX, stride: sX, size: W, count: Wo)
                var src = columns + k &* leadingDimension
                for oy in rowStart..<rowEnd {
                    let iy = oy &* sY &- pY &+ ky &* dY
                    if iy >= 0 && iy < H {
                        let row = channel + iy &* W
                        addScaled(1, src + lo, stride: 1, into: row + (lo &* sX &+ offsetX), stride: sX, count: hi &- lo)
                    }
                    src += Wo
                }
            }
        }
    }

    // MARK: Raw kernels

    /// Forward convolution: `output[N, O, Ho, Wo] = conv(input[N, C, H, W], weight) + bias`.
    static func convolutionForward(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>?, _ g: ConvolutionGeometry,
                                   into output: UnsafeMutablePointer<Float>) {
        if g.isDepthwise {
            depthwiseForward(input, weight: weight, bias: bias, g, into: output)
            return
        }
        let K = g.patchSize, Cg = g.groupInputChannels, Og = g.groupOutputChannels
        let inPlane = g.inputPlane, outPlane = g.outputPlane, Wo = g.outputWidth
        let tileRows = convolutionTileRows(g)
        // Small images (such as the extractor's 16×16 patches) share one column matrix, images
        // side by side, so each sgemm is large enough to run at full speed.
        if !g.isPointwise && g.batch > 1 && outPlane < 4096 && g.groups == 1 && g.strideY == 1 && g.strideX == 1
            && g.inputChannels >= 16 {  // with few channels each tap's sgemm is too thin: im2col wins
            convolutionForwardShifted(input, weight: weight, bias: bias, g, into: output)
            return
        }
        let imagesPerBlock = Swift.min(g.batch, convolutionColumnBudget / Swift.max(K &* outPlane, 1))
        if !g.isPointwise && g.batch > 1 && outPlane < 4096 && imagesPerBlock > 1 {
            convolutionForwardBatched(input, weight: weight, bias: bias, g, imagesPerBlock: imagesPerBlock, into: output)
            return
        }
        if usesWinograd(g) {  // large 3×3 stride-1 convolutions (Tensor+Winograd.swift)
            winogradForward(input, weight: weight, bias: bias, g, into: output)
            return
        }
        let columns = g.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: K &* tileRows &* Wo)
        defer { columns?.deallocate() }
        for n in 0..<g.batch {
            for group in 0..<g.groups {
                let x = input + (n &* g.inputChannels &+ group &* Cg) &* inPlane
                let y = output + (n &* g.outputChannels &+ group &* Og) &* outPlane
                let w = weight + group &* Og &* K
                if let bias {
                    for o in 0..<Og { (y + o &* outPlane).update(repeating: bias[group &* Og &+ o], count: outPlane) }
                }
                let beta: Float = bias == nil ? 0 : 1
                guard let columns else {
                    // [Og, Cg] · [Cg, H·W]
                    gemm(w, transposeA: false, x, transposeB: false, m: Og, n: outPlane, k: Cg, into: y, beta: beta)
                    continue
                }
                var rowStart = 0
                while rowStart < g.outputHeight {
                    let rowEnd = Swift.min(g.outputHeight, rowStart + tileRows)
                    let tileColumns = (rowEnd - rowStart) * Wo
                    im2col(x, g, rowStart: rowStart, rowEnd: rowEnd, into: columns)
                    // [Og, K] · [K, tile] into the tile's columns of the [Og, Ho·Wo] output.
                    gemm(w, transposeA: false, columns, transposeB: false, m: Og, n: tileColumns, k: K,
                         into: y + rowStart * Wo, beta: beta, ldb: tileColumns, ldc: outPlane)
                    rowStart = rowEnd
                }
            }
        }
    }

    /// The forward convolution for many small images at stride 1 without im2col ("shifted
    /// windows"): the images of a block are zero-padded side by side into `[C, B·Hp·Wp]`; for
    /// each kernel tap `t` at offset `δₜ = ky·dY·Wp + kx·dX`, one sgemm adds
    /// `W[:, :, ky, kx] · X[:, j + δₜ]` into an output laid out on the padded grid `[O, B·Hp·Wp]`;
    /// the valid `Ho × Wo` window of each image is then copied out with the bias. It reads the
    /// input once per tap instead of writing a column matrix `kH·kW` times its size.
    static func convolutionForwardShifted(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                          bias: UnsafePointer<Float>?, _ g: ConvolutionGeometry,
                                          into output: UnsafeMutablePointer<Float>) {
        let C = g.inputChannels, O = g.outputChannels
        let taps = g.kernelHeight &* g.kernelWidth
        let plane = (g.inputHeight &+ 2 &* g.paddingY) &* (g.inputWidth &+ 2 &* g.paddingX)
        // Weights regrouped tap-major: [taps, O, C].
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: taps &* O &* C)
        defer { packed.deallocate() }
        for o in 0..<O {
            for c in 0..<C {
                for t in 0..<taps { packed[(t &* O &+ o) &* C &+ c] = weight[(o &* C &+ c) &* taps &+ t] }
            }
        }
        let largestBlock = Swift.max(1, Swift.min(g.batch, shiftedConvolutionBudget / Swift.max((C &+ O) &* plane, 1)))
        let workers = Parallel.threadCount
        var blockCount = (g.batch &+ largestBlock &- 1) / largestBlock
        if blockCount >= workers {
            // Enough blocks for every worker: each runs whole blocks on its own buffers with
            // single-threaded sgemms (BLASThreading), so the cores meet once per call instead of
            // at every sgemm and copy. Blocks are evened out to a multiple of the workers.
            blockCount = (blockCount &+ workers &- 1) / workers &* workers
            let imagesPerBlock = (g.batch &+ blockCount &- 1) / blockCount
            blockCount = (g.batch &+ imagesPerBlock &- 1) / imagesPerBlock
            let weights = SendablePointer(packed), destination = SendablePointer(output)
            let source = SendablePointer(UnsafeMutablePointer(mutating: input))
            Parallel.forRanges(blockCount, minimumChunk: 1) { firstBlock, endBlock in
                let width = imagesPerBlock &* plane
                let padded = UnsafeMutablePointer<Float>.allocate(capacity: C &* width)
                padded.initialize(repeating: 0, count: C &* width)  // borders stay zero: blocks overwrite the interiors
                let product = UnsafeMutablePointer<Float>.allocate(capacity: O &* width)
                defer { padded.deallocate(); product.deallocate() }
                for block in firstBlock..<endBlock {
                    let first = block &* imagesPerBlock, count = Swift.min(imagesPerBlock, g.batch &- first)
                    shiftedBlock(source.pointer, packed: weights.pointer, bias: bias, g, first: first, count: count, width: width,
                                 padded: padded, product: product, into: destination.pointer, parallel: false)
                }
            }
            return
        }
        // Fewer blocks than workers: blocks one after the other, each sgemm and copy split.
        let imagesPerBlock = largestBlock
        let width = imagesPerBlock &* plane
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: C &* width)
        padded.initialize(repeating: 0, count: C &* width)
        let product = UnsafeMutablePointer<Float>.allocate(capacity: O &* width)
        defer { padded.deallocate(); product.deallocate() }
        var first = 0
        while first < g.batch {
            let count = Swift.min(imagesPerBlock, g.batch &- first)
            shiftedBlock(input, packed: packed, bias: bias, g, first: first, count: count, width: width,
                         padded: padded, product: product, into: output, parallel: true)
            first &+= count
        }
    }

    /// One block of ``convolutionForwardShifted``: images `first..<first + count` padded into
    /// `padded` (`[C, width]`, borders zero), the `kH·kW` tap sgemms into `product` (`[O, width]`),
    /// and the valid windows copied out with the bias. With `parallel`, the copies and sgemms are
    /// split over the workers; without, everything runs on the calling thread.
    private static func shiftedBlock(_ input: UnsafePointer<Float>, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     _ g: ConvolutionGeometry, first: Int, count: Int, width: Int,
                                     padded: UnsafeMutablePointer<Float>, product: UnsafeMutablePointer<Float>,
                                     into output: UnsafeMutablePointer<Float>, parallel: Bool) {
        let C = g.inputChannels, O = g.outputChannels, H = g.inputHeight, W = g.inputWidth
        let kH = g.kernelHeight, kW = g.kernelWidth
        let Hp = H &+ 2 &* g.paddingY, Wp = W &+ 2 &* g.paddingX, plane = Hp &* Wp
        let Ho = g.outputHeight, Wo = g.outputWidth
        let maximumOffset = (kH &- 1) &* g.dilationY &* Wp &+ (kW &- 1) &* g.dilationX
        let paddedPointer = SendablePointer(padded), productPointer = SendablePointer(product)
        let destination = SendablePointer(output)
        let pad = { (start: Int, end: Int) in
            for index in start..<end {
                let c = index / count, b = index &- c &* count
                let source = input + ((first &+ b) &* C &+ c) &* H &* W
                let interior: Int = c &* width &+ b &* plane &+ g.paddingY &* Wp &+ g.paddingX
                let target = paddedPointer.pointer + interior
                for y in 0..<H { copyRow(from: source + y &* W, to: target + y &* Wp, count: W) }
            }
        }
        if parallel {
            Parallel.forRanges(C &* count, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(plane, 1)), pad)
        } else {
            pad(0, C &* count)
        }
        let n = count &* plane &- maximumOffset
        for ky in 0..<kH {
            for kx in 0..<kW {
                let t = ky &* kW &+ kx
                let offset = ky &* g.dilationY &* Wp &+ kx &* g.dilationX
                if parallel {
                    gemm(packed + t &* O &* C, transposeA: false, padded + offset, transposeB: false,
                         m: O, n: n, k: C, into: product, beta: t == 0 ? 0 : 1, lda: C, ldb: width, ldc: width)
                } else {
                    serialGemm(packed + t &* O &* C, transposeA: false, padded + offset, transposeB: false,
                               m: O, n: n, k: C, into: product, beta: t == 0 ? 0 : 1, lda: C, ldb: width, ldc: width)
                }
            }
        }
        let copyOut = { (start: Int, end: Int) in
            for index in start..<end {
                let b = index / O, o = index &- b &* O
                let shift = bias?[o] ?? 0
                let y = destination.pointer + ((first &+ b) &* O &+ o) &* Ho &* Wo
                let p = productPointer.pointer + (o &* width &+ b &* plane)
                for row in 0..<Ho {
                    let src = p + row &* Wp, dst = y + row &* Wo
                    for x in 0..<Wo { dst[x] = src[x] + shift }
                }
            }
        }
        if parallel {
            Parallel.forRanges(count &* O, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(Ho &* Wo, 1)), copyOut)
        } else {
            copyOut(0, count &* O)
        }
    }

    /// The forward convolution for many small images: per group, `imagesPerBlock` images' columns
    /// side by side (`[K, B·Ho·Wo]`), one sgemm into `[Og, B·Ho·Wo]`, then each image's block copied
    /// to its place in `[N, O, Ho, Wo]` with the bias.
    static func convolutionForwardBatched(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                          bias: UnsafePointer<Float>?, _ g: ConvolutionGeometry, imagesPerBlock: Int,
                                          into output: UnsafeMutablePointer<Float>) {
        let K = g.patchSize, Cg = g.groupInputChannels, Og = g.groupOutputChannels
        let inPlane = g.inputPlane, outPlane = g.outputPlane
        let width = imagesPerBlock &* outPlane
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: K &* width)
        let product = UnsafeMutablePointer<Float>.allocate(capacity: Og &* width)
        defer { columns.deallocate(); product.deallocate() }
        var first = 0
        while first < g.batch {
            let count = Swift.min(imagesPerBlock, g.batch &- first)
            for group in 0..<g.groups {
                for b in 0..<count {
                    let x = input + ((first &+ b) &* g.inputChannels &+ group &* Cg) &* inPlane
                    im2col(x, g, rowStart: 0, rowEnd: g.outputHeight, into: columns + b &* outPlane, leadingDimension: width)
                }
                let w = weight + group &* Og &* K
                gemm(w, transposeA: false, columns, transposeB: false, m: Og, n: count &* outPlane, k: K,
                     into: product, ldb: width, ldc: width)
                let source = SendablePointer(product), destination = SendablePointer(output)
                Parallel.forRanges(count &* Og, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(outPlane, 1))) { start, end in
                    for index in start..<end {
                        let b = index / Og, o = index &- b &* Og
                        let channel = group &* Og &+ o
                        let y = destination.pointer + ((first &+ b) &* g.outputChannels &+ channel) &* outPlane
                        let p = source.pointer + (o &* width &+ b &* outPlane)
                        if let bias {
                            let shift = bias[channel]
                            for j in 0..<outPlane { y[j] = p[j] + shift }
                        } else {
                            y.update(from: p, count: outPlane)
                        }
                    }
                }
            }
            first &+= count
        }
    }

    /// Input gradient of a convolution: `inputGradient[N, C, H, W] = convᵀ(outputGradient[N, O, Ho, Wo], weight)`.
    /// Overwrites `inputGradient`.
    static func convolutionInputGradient(_ outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                         _ g: ConvolutionGeometry, into inputGradient: UnsafeMutablePointer<Float>) {
        if g.isDepthwise {
            depthwiseInputGradient(outputGradient, weight: weight, g, into: inputGradient)
            return
        }
        let imagesPerBlock = backwardImagesPerBlock(g)
        if imagesPerBlock > 1 {
            convolutionInputGradientBatched(outputGradient, weight: weight, g, imagesPerBlock: imagesPerBlock, into: inputGradient)
            return
        }
        let K = g.patchSize, Cg = g.groupInputChannels, Og = g.groupOutputChannels
        let inPlane = g.inputPlane, outPlane = g.outputPlane, Wo = g.outputWidth
        let tileRows = convolutionTileRows(g)
        let columns = g.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: K &* tileRows &* Wo)
        defer { columns?.deallocate() }
        if columns != nil { inputGradient.update(repeating: 0, count: g.batch &* g.inputChannels &* inPlane) }
        for n in 0..<g.batch {
            for group in 0..<g.groups {
                let dx = inputGradient + (n &* g.inputChannels &+ group &* Cg) &* inPlane
                let dy = outputGradient + (n &* g.outputChannels &+ group &* Og) &* outPlane
                let w = weight + group &* Og &* K
                guard let columns else {
                    // [Og, Cg]ᵀ · [Og, H·W]
                    gemm(w, transposeA: true, dy, transposeB: false, m: Cg, n: outPlane, k: Og, into: dx)
                    continue
                }
                var rowStart = 0
                while rowStart < g.outputHeight {
                    let rowEnd = Swift.min(g.outputHeight, rowStart + tileRows)
                    let tileColumns = (rowEnd - rowStart) * Wo
                    // [Og, K]ᵀ · [Og, tile] → the tile's column gradient [K, tile].
                    gemm(w, transposeA: true, dy + rowStart * Wo, transposeB: false, m: K, n: tileColumns, k: Og,
                         into: columns, lda: K, ldb: outPlane, ldc: tileColumns)
                    col2im(columns, g, rowStart: rowStart, rowEnd: rowEnd, into: dx)
                    rowStart = rowEnd
                }
            }
        }
    }

    /// Weight gradient of a convolution: `weightGradient[O, C/groups, kH, kW] = Σₙ dy · colsᵀ`.
    /// Overwrites `weightGradient`.
    static func convolutionWeightGradient(_ input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                          _ g: ConvolutionGeometry, into weightGradient: UnsafeMutablePointer<Float>) {
        if g.isDepthwise {
            depthwiseWeightGradient(input, outputGradient: outputGradient, g, into: weightGradient)
            return
        }
        let imagesPerBlock = backwardImagesPerBlock(g)
        if imagesPerBlock > 1 {
            convolutionWeightGradientBatched(input, outputGradient: outputGradient, g, imagesPerBlock: imagesPerBlock, into: weightGradient)
            return
        }
        let K = g.patchSize, Cg = g.groupInputChannels, Og = g.groupOutputChannels
        let inPlane = g.inputPlane, outPlane = g.outputPlane, Wo = g.outputWidth
        let tileRows = convolutionTileRows(g)
        let columns = g.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: K &* tileRows &* Wo)
        defer { columns?.deallocate() }
        weightGradient.update(repeating: 0, count: g.outputChannels &* K)
        for n in 0..<g.batch {
            for group in 0..<g.groups {
                let x = input + (n &* g.inputChannels &+ group &* Cg) &* inPlane
                let dy = outputGradient + (n &* g.outputChannels &+ group &* Og) &* outPlane
                let dw = weightGradient + group &* Og &* K
                guard let columns else {
                    // [Og, H·W] · [Cg, H·W]ᵀ
                    gemm(dy, transposeA: false, x, transposeB: true, m: Og, n: Cg, k: outPlane, into: dw, beta: 1)
                    continue
                }
                var rowStart = 0
                while rowStart < g.outputHeight {
                    let rowEnd = Swift.min(g.outputHeight, rowStart + tileRows)
                    let tileColumns = (rowEnd - rowStart) * Wo
                    im2col(x, g, rowStart: rowStart, rowEnd: rowEnd, into: columns)
                    // [Og, tile] · [K, tile]ᵀ accumulated into [Og, K].
                    gemm(dy + rowStart * Wo, transposeA: false, columns, transposeB: true, m: Og, n: K, k: tileColumns,
                         into: dw, beta: 1, lda: outPlane, ldb: tileColumns, ldc: K)
                    rowStart = rowEnd
                }
            }
        }
    }

    // MARK: Backward for many small images

    /// Images per block of the batched backward (``convolutionInputGradientBatched`` and
    /// ``convolutionWeightGradientBatched``), or 1 when the per-image loops apply: only small
    /// ungrouped images with a real column matrix, as the batched forward.
    static func backwardImagesPerBlock(_ g: ConvolutionGeometry) -> Int {
        guard !g.isPointwise && g.groups == 1 && g.batch > 1 && g.outputPlane < 4096 else { return 1 }
        return Swift.min(g.batch, backwardColumnBudget / Swift.max(g.patchSize &* g.outputPlane, 1))
    }

    /// The floats of one block's column matrix in the batched backward: small enough that the
    /// block's columns and output gradients stay in the cores' caches between the sgemm and
    /// col2im (a 16 MB block was slower than one sgemm per image on the extractor's patches).
    static let backwardColumnBudget = 1 << 18

    /// Copies the output gradient of images `first..<first + count` from `[N, O, Ho·Wo]` into a
    /// block `[O, count·Ho·Wo]` (images side by side, `width` apart per row), so one sgemm covers them.
    static func gatherOutputGradient(_ outputGradient: UnsafePointer<Float>, _ g: ConvolutionGeometry, first: Int, count: Int,
                                     width: Int, into block: UnsafeMutablePointer<Float>) {
        let O = g.outputChannels, outPlane = g.outputPlane
        let target = SendablePointer(block)
        Parallel.forRanges(count &* O, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(outPlane, 1))) { start, end in
            for index in start..<end {
                let b = index / O, o = index &- b &* O
                let sourceOffset: Int = ((first &+ b) &* O &+ o) &* outPlane
                let targetOffset: Int = o &* width &+ b &* outPlane
                (target.pointer + targetOffset).update(from: outputGradient + sourceOffset, count: outPlane)
            }
        }
    }

    /// Input gradient for many small images (groups 1): per block, the output gradients side by
    /// side `[O, B·Ho·Wo]`, one sgemm `Wᵀ · dY` into the block's column gradient `[K, B·Ho·Wo]`,
    /// then ``col2im`` of every image and channel in one parallel pass. One sgemm per block instead
    /// of one per image: the extractor's backward on 16×16 patches was dominated by BLAS's
    /// per-call thread synchronisation. Overwrites `inputGradient`.
    static func convolutionInputGradientBatched(_ outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                                _ g: ConvolutionGeometry, imagesPerBlock: Int,
                                                into inputGradient: UnsafeMutablePointer<Float>) {
        let K = g.patchSize, O = g.outputChannels, C = g.inputChannels, outPlane = g.outputPlane, inPlane = g.inputPlane
        let width = imagesPerBlock &* outPlane
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: K &* width)
        let block = UnsafeMutablePointer<Float>.allocate(capacity: O &* width)
        defer { columns.deallocate(); block.deallocate() }
        inputGradient.update(repeating: 0, count: g.batch &* C &* inPlane)
        let source = SendablePointer(columns), destination = SendablePointer(inputGradient)
        var first = 0
        while first < g.batch {
            let count = Swift.min(imagesPerBlock, g.batch &- first)
            gatherOutputGradient(outputGradient, g, first: first, count: count, width: width, into: block)
            // [O, K]ᵀ · [O, count·Ho·Wo] → [K, count·Ho·Wo]
            gemm(weight, transposeA: true, block, transposeB: false, m: K, n: count &* outPlane, k: O,
                 into: columns, lda: K, ldb: width, ldc: width)
            let grain = Swift.max(1, (1 << 15) / Swift.max(outPlane &* g.kernelHeight &* g.kernelWidth, 1))
            Parallel.forRanges(count &* C, minimumChunk: grain) { start, end in
                for index in start..<end {
                    let b = index / C, c = index &- b &* C
                    col2imChannel(UnsafePointer(source.pointer + b &* outPlane), g, channel: c, rowStart: 0, rowEnd: g.outputHeight,
                                  leadingDimension: width, into: destination.pointer + (first &+ b) &* C &* inPlane)
                }
            }
            first &+= count
        }
    }

    /// Weight gradient for many small images (groups 1): per block, the images' column matrices
    /// side by side `[K, B·Ho·Wo]` and their output gradients `[O, B·Ho·Wo]`, one sgemm
    /// `dY · colsᵀ` accumulated into `[O, K]`. Overwrites `weightGradient`.
    static func convolutionWeightGradientBatched(_ input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                                 _ g: ConvolutionGeometry, imagesPerBlock: Int,
                                                 into weightGradient: UnsafeMutablePointer<Float>) {
        let K = g.patchSize, O = g.outputChannels, C = g.inputChannels, outPlane = g.outputPlane, inPlane = g.inputPlane
        let width = imagesPerBlock &* outPlane
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: K &* width)
        let block = UnsafeMutablePointer<Float>.allocate(capacity: O &* width)
        defer { columns.deallocate(); block.deallocate() }
        let target = SendablePointer(columns)
        var first = 0
        while first < g.batch {
            let count = Swift.min(imagesPerBlock, g.batch &- first)
            gatherOutputGradient(outputGradient, g, first: first, count: count, width: width, into: block)
            // Each image's im2col on one thread, images spread over the cores.
            Parallel.forRanges(count, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(K &* outPlane, 1))) { start, end in
                for b in start..<end {
                    im2colSerial(input + (first &+ b) &* C &* inPlane, g, into: target.pointer + b &* outPlane, leadingDimension: width)
                }
            }
            // [O, count·Ho·Wo] · [K, count·Ho·Wo]ᵀ accumulated into [O, K]
            gemm(block, transposeA: false, columns, transposeB: true, m: O, n: K, k: count &* outPlane,
                 into: weightGradient, beta: first == 0 ? 0 : 1, lda: width, ldb: width, ldc: K)
            first &+= count
        }
    }

    // MARK: Depthwise (one input channel per group)

    /// Direct depthwise forward: output channel `o` reads input channel `o / (O / C)`.
    static func depthwiseForward(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 _ g: ConvolutionGeometry, into output: UnsafeMutablePointer<Float>) {
        let C = g.inputChannels, O = g.outputChannels, multiplier = g.groupOutputChannels
        let H = g.inputHeight, W = g.inputWidth, Ho = g.outputHeight, Wo = g.outputWidth
        let kH = g.kernelHeight, kW = g.kernelWidth, sY = g.strideY, sX = g.strideX
        let inPlane = g.inputPlane, outPlane = g.outputPlane
        let out = SendablePointer(output)
        let grain = Swift.max(1, (1 << 15) / Swift.max(outPlane &* kH &* kW, 1))
        Parallel.forRanges(g.batch &* O, minimumChunk: grain) { start, end in
            for p in start..<end {
                let n = p / O, o = p &- n &* O, c = o / multiplier
                let x = input + (n &* C &+ c) &* inPlane
                let y = out.pointer + p &* outPlane
                let kernel = weight + o &* kH &* kW
                y.update(repeating: bias?[o] ?? 0, count: outPlane)
                for ky in 0..<kH {
                    for kx in 0..<kW {
                        let w = kernel[ky &* kW &+ kx]
                        let offsetX = kx &* g.dilationX &- g.paddingX
                        let (lo, hi) = ConvolutionGeometry.validRange(offset: offsetX, stride: sX, size: W, count: Wo)
                        for oy in 0..<Ho {
                            let iy = oy &* sY &- g.paddingY &+ ky &* g.dilationY
                            if iy < 0 || iy >= H { continue }
                            let row = x + iy &* W, yRow = y + oy &* Wo
                            addScaled(w, row + (lo &* sX &+ offsetX), stride: sX, into: yRow + lo, stride: 1, count: hi &- lo)
                        }
                    }
                }
            }
        }
    }

    /// Direct depthwise input gradient; each input channel gathers from its `O / C` outputs.
    static func depthwiseInputGradient(_ outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                       _ g: ConvolutionGeometry, into inputGradient: UnsafeMutablePointer<Float>) {
        let C = g.inputChannels, O = g.outputChannels, multiplier = g.groupOutputChannels
        let H = g.inputHeight, W = g.inputWidth, Ho = g.outputHeight, Wo = g.outputWidth
        let kH = g.kernelHeight, kW = g.kernelWidth, sY = g.strideY, sX = g.strideX
        let inPlane = g.inputPlane, outPlane = g.outputPlane
        let out = SendablePointer(inputGradient)
        let grain = Swift.max(1, (1 << 15) / Swift.max(outPlane &* kH &* kW &* multiplier, 1))
        Parallel.forRanges(g.batch &* C, minimumChunk: grain) { start, end in
            for p in start..<end {
                let n = p / C, c = p &- n &* C
                let dx = out.pointer + p &* inPlane
                dx.update(repeating: 0, count: inPlane)
                for j in 0..<multiplier {
                    let o = c &* multiplier &+ j
                    let dy = outputGradient + (n &* O &+ o) &* outPlane
                    let kernel = weight + o &* kH &* kW
                    for ky in 0..<kH {
                        for kx in 0..<kW {
                            let w = kernel[ky &* kW &+ kx]
                            let offsetX = kx &* g.dilationX &- g.paddingX
                            let (lo, hi) = ConvolutionGeometry.validRange(offset: offsetX, stride: sX, size: W, count: Wo)
                            for oy in 0..<Ho {
                                let iy = oy &* sY &- g.paddingY &+ ky &* g.dilationY
                                if iy < 0 || iy >= H { continue }
                                let row = dx + iy &* W, dyRow = dy + oy &* Wo
                                addScaled(w, dyRow + lo, stride: 1, into: row + (lo &* sX &+ offsetX), stride: sX, count: hi &- lo)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Direct depthwise weight gradient: `dw[o, 0, ky, kx] = Σ dy[n, o, oy, ox] · x[n, c, iy, ix]`.
    static func depthwiseWeightGradient(_ input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                        _ g: ConvolutionGeometry, into weightGradient: UnsafeMutablePointer<Float>) {
        let C = g.inputChannels, O = g.outputChannels, multiplier = g.groupOutputChannels
        let H = g.inputHeight, W = g.inputWidth, Ho = g.outputHeight, Wo = g.outputWidth
        let kH = g.kernelHeight, kW = g.kernelWidth, sY = g.strideY, sX = g.strideX
        let inPlane = g.inputPlane, outPlane = g.outputPlane
        let out = SendablePointer(weightGradient)
        let grain = Swift.max(1, (1 << 15) / Swift.max(g.batch &* outPlane &* kH &* kW, 1))
        Parallel.forRanges(O, minimumChunk: grain) { start, end in
            for o in start..<end {
                let c = o / multiplier
                for ky in 0..<kH {
                    for kx in 0..<kW {
                        let offsetX = kx &* g.dilationX &- g.paddingX
                        let (lo, hi) = ConvolutionGeometry.validRange(offset: offsetX, stride: sX, size: W, count: Wo)
                        var total: Float = 0
                        for n in 0..<g.batch {
                            let x = input + (n &* C &+ c) &* inPlane
                            let dy = outputGradient + (n &* O &+ o) &* outPlane
                            for oy in 0..<Ho {
                                let iy = oy &* sY &- g.paddingY &+ ky &* g.dilationY
                                if iy < 0 || iy >= H { continue }
                                let row = x + iy &* W, dyRow = dy + oy &* Wo
                                total += dot(dyRow + lo, row + (lo &* sX &+ offsetX), stride: sX, count: hi &- lo)
                            }
                        }
                        out.pointer[o &* kH &* kW &+ ky &* kW &+ kx] = total
                    }
                }
            }
        }
    }

    // MARK: conv2d

    /// Checks what `conv2d` and `convTranspose2d` share and returns the kernel size `(kH, kW)`.
    private static func checkConvolutionOperands(op: String, input: Tensor, weight: Tensor, stride: (Int, Int),
                                                 padding: (Int, Int), dilation: (Int, Int), groups: Int) -> (Int, Int) {
        precondition(input.rank == 4, "\(op): input must be [N, C, H, W], got \(input.shape)")
        precondition(weight.rank == 4, "\(op): weight must be rank 4, got \(weight.shape)")
        precondition(input.count > 0 && weight.count > 0, "\(op): empty input \(input.shape) or weight \(weight.shape)")
        precondition(groups >= 1, "\(op): groups must be positive, got \(groups)")
        precondition(stride.0 > 0 && stride.1 > 0, "\(op): stride must be positive, got \(stride)")
        precondition(dilation.0 > 0 && dilation.1 > 0, "\(op): dilation must be positive, got \(dilation)")
        precondition(padding.0 >= 0 && padding.1 >= 0, "\(op): padding must be non-negative, got \(padding)")
        return (weight.shape[2], weight.shape[3])
    }

    /// 2-D convolution (cross-correlation), as PyTorch's `torch.nn.functional.conv2d`.
    ///
    /// `y[n, o, i, j] = bias[o] + Σ_{c, ky, kx} weight[o, c, ky, kx] · x[n, g·C/groups + c, i·sY − pY + ky·dY, j·sX − pX + kx·dX]`,
    /// where `g = o / (O / groups)` and positions outside the input read zero.
    ///
    /// Computed as im2col + one `sgemm` per image and group (`[O/groups, C/groups·kH·kW] ·
    /// [C/groups·kH·kW, Ho·Wo]`, tiled over output rows for large images); 1×1 stride-1
    /// unpadded convolutions skip im2col and depthwise ones (`groups == C`) use direct loops.
    /// Differentiable in `input`, `weight` and `bias`.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - weight: `[O, C/groups, kH, kW]`.
    ///   - bias: `[O]`, or `nil`.
    ///   - stride: `(sY, sX)`, positive.
    ///   - padding: `(pY, pX)` zeros added on each side.
    ///   - dilation: `(dY, dX)`, the spacing of kernel taps.
    ///   - groups: splits the channels into independent convolutions; divides `C` and `O`.
    /// - Returns: `[N, O, Ho, Wo]` with `Ho = ⌊(H + 2pY − dY(kH − 1) − 1) / sY⌋ + 1` (and `Wo` alike).
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                              padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        let (kH, kW) = checkConvolutionOperands(op: "conv2d", input: input, weight: weight,
                                                stride: stride, padding: padding, dilation: dilation, groups: groups)
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let O = weight.shape[0]
        precondition(C % groups == 0 && O % groups == 0,
                     "conv2d: groups \(groups) must divide input channels \(C) and output channels \(O)")
        precondition(weight.shape[1] == C / groups,
                     "conv2d: weight \(weight.shape) must be [O, C/groups = \(C / groups), kH, kW] for input \(input.shape) and groups \(groups)")
        if let bias { precondition(bias.shape == [O], "conv2d: bias \(bias.shape) must be [\(O)] for weight \(weight.shape)") }
        let Ho = ConvolutionGeometry.outputSize(H, kernel: kH, stride: stride.0, padding: padding.0, dilation: dilation.0)
        let Wo = ConvolutionGeometry.outputSize(W, kernel: kW, stride: stride.1, padding: padding.1, dilation: dilation.1)
        precondition(H + 2 * padding.0 >= dilation.0 * (kH - 1) + 1 && W + 2 * padding.1 >= dilation.1 * (kW - 1) + 1,
                     "conv2d: padded input \(input.shape) with padding \(padding) is smaller than the dilated kernel \(weight.shape) (dilation \(dilation))")
        let geometry = ConvolutionGeometry(
            batch: N, inputChannels: C, inputHeight: H, inputWidth: W, outputChannels: O, outputHeight: Ho, outputWidth: Wo,
            kernelHeight: kH, kernelWidth: kW, strideY: stride.0, strideX: stride.1, paddingY: padding.0, paddingX: padding.1,
            dilationY: dilation.0, dilationX: dilation.1, groups: groups)
        let out = Tensor(uninitializedShape: [N, O, Ho, Wo])
        convolutionForward(input.storage.baseAddress, weight: weight.storage.baseAddress,
                           bias: bias?.storage.baseAddress, geometry, into: out.storage.baseAddress)
        let x = input.detached(), w = weight.detached()
        let needInput = input.requiresGradient, needWeight = weight.requiresGradient, needBias = bias?.requiresGradient ?? false
        return record("conv2d", out, inputs: [input, weight] + (bias.map { [$0] } ?? [])) { gradient in
            var gradients: [Tensor?] = [nil, nil]
            if needInput {
                let dx = Tensor(uninitializedShape: x.shape)
                convolutionInputGradient(gradient.storage.baseAddress, weight: w.storage.baseAddress, geometry,
                                         into: dx.storage.baseAddress)
                gradients[0] = dx
            }
            if needWeight {
                let dw = Tensor(uninitializedShape: w.shape)
                convolutionWeightGradient(x.storage.baseAddress, outputGradient: gradient.storage.baseAddress, geometry,
                                          into: dw.storage.baseAddress)
                gradients[1] = dw
            }
            if bias != nil { gradients.append(needBias ? gradient.sum(alongAxes: [0, 2, 3]) : nil) }
            return gradients
        }
    }

    /// 2-D convolution with the same stride, padding and dilation on both axes; see
    /// ``conv2d(_:weight:bias:stride:padding:dilation:groups:)-(_,_,_,(Int,Int),_,_,_)``.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - weight: `[O, C/groups, kH, kW]`.
    ///   - bias: `[O]`, or `nil`.
    ///   - stride: the step between output positions, on both axes.
    ///   - padding: zeros added on each side of both axes.
    ///   - dilation: the spacing between kernel taps, on both axes.
    ///   - groups: the number of channel groups; divides `C` and `O`.
    /// - Returns: `[N, O, Ho, Wo]`.
    @_disfavoredOverload
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                              dilation: Int = 1, groups: Int = 1) -> Tensor {
        conv2d(input, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
               dilation: (dilation, dilation), groups: groups)
    }

    // MARK: convTranspose2d

    /// Transposed 2-D convolution, as PyTorch's `torch.nn.functional.conv_transpose2d`: the
    /// gradient of
    /// ``conv2d(_:weight:bias:stride:padding:dilation:groups:)-(_,_,_,(Int,Int),_,_,_)``
    /// with respect to its input, plus a bias.
    ///
    /// Each input position scatters `x[n, c, i, j] · weight[c, o, ky, kx]` onto the output at
    /// `(i·sY − pY + ky·dY, j·sX − pX + kx·dX)`. Computed as one `sgemm` + col2im per image and
    /// group; its backward is a convolution.
    ///
    /// - Parameters:
    ///   - input: `[N, C_in, H, W]`.
    ///   - weight: `[C_in, C_out/groups, kH, kW]`.
    ///   - bias: `[C_out]`, or `nil`.
    ///   - stride: `(sY, sX)`, the stride of the convolution this op transposes.
    ///   - padding: `(pY, pX)`, the padding of the convolution this op transposes (removed from
    ///     the output's borders).
    ///   - dilation: `(dY, dX)`, the spacing between kernel taps.
    ///   - groups: the number of channel groups; divides `C_in`.
    ///   - outputPadding: `(opY, opX)` extra rows/columns added on the bottom/right of the
    ///     output; each must be smaller than the stride or the dilation on its axis.
    /// - Returns: `[N, C_out, Ho, Wo]` with `Ho = (H − 1)·sY − 2pY + dY(kH − 1) + opY + 1`.
    public static func convTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                                       padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0),
                                       dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        let (kH, kW) = checkConvolutionOperands(op: "convTranspose2d", input: input, weight: weight,
                                                stride: stride, padding: padding, dilation: dilation, groups: groups)
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        precondition(weight.shape[0] == C, "convTranspose2d: weight \(weight.shape) must be [C_in = \(C), C_out/groups, kH, kW] for input \(input.shape)")
        precondition(C % groups == 0, "convTranspose2d: groups \(groups) must divide input channels \(C)")
        let O = weight.shape[1] * groups
        if let bias { precondition(bias.shape == [O], "convTranspose2d: bias \(bias.shape) must be [\(O)] for weight \(weight.shape) and groups \(groups)") }
        precondition(outputPadding.0 >= 0 && outputPadding.1 >= 0
                     && (outputPadding.0 < stride.0 || outputPadding.0 < dilation.0)
                     && (outputPadding.1 < stride.1 || outputPadding.1 < dilation.1),
                     "convTranspose2d: output padding \(outputPadding) must be non-negative and smaller than stride \(stride) or dilation \(dilation)")
        let Ho = (H - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kH - 1) + outputPadding.0 + 1
        let Wo = (W - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kW - 1) + outputPadding.1 + 1
        precondition(Ho > 0 && Wo > 0, "convTranspose2d: padding \(padding) leaves an empty output (\(Ho)×\(Wo)) for input \(input.shape) and weight \(weight.shape)")
        // The convolution this op transposes maps [N, O, Ho, Wo] to [N, C, H, W].
        let geometry = ConvolutionGeometry(
            batch: N, inputChannels: O, inputHeight: Ho, inputWidth: Wo, outputChannels: C, outputHeight: H, outputWidth: W,
            kernelHeight: kH, kernelWidth: kW, strideY: stride.0, strideX: stride.1, paddingY: padding.0, paddingX: padding.1,
            dilationY: dilation.0, dilationX: dilation.1, groups: groups)
        let out = Tensor(uninitializedShape: [N, O, Ho, Wo])
        let py = out.storage.baseAddress
        convolutionInputGradient(input.storage.baseAddress, weight: weight.storage.baseAddress, geometry, into: py)
        if let bias {
            let pb = bias.storage.baseAddress, plane = Ho * Wo
            for p in 0..<(N * O) {
                let b = pb[p % O], y = py + p * plane
                for i in 0..<plane { y[i] += b }
            }
        }
        let x = input.detached(), w = weight.detached()
        let needInput = input.requiresGradient, needWeight = weight.requiresGradient, needBias = bias?.requiresGradient ?? false
        return record("convTranspose2d", out, inputs: [input, weight] + (bias.map { [$0] } ?? [])) { gradient in
            var gradients: [Tensor?] = [nil, nil]
            if needInput {
                let dx = Tensor(uninitializedShape: x.shape)
                convolutionForward(gradient.storage.baseAddress, weight: w.storage.baseAddress, bias: nil, geometry,
                                   into: dx.storage.baseAddress)
                gradients[0] = dx
            }
            if needWeight {
                let dw = Tensor(uninitializedShape: w.shape)
                convolutionWeightGradient(gradient.storage.baseAddress, outputGradient: x.storage.baseAddress, geometry,
                                          into: dw.storage.baseAddress)
                gradients[1] = dw
            }
            if bias != nil { gradients.append(needBias ? gradient.sum(alongAxes: [0, 2, 3]) : nil) }
            return gradients
        }
    }

    /// Transposed 2-D convolution with the same stride, padding, output padding and dilation on
    /// both axes; see
    /// ``convTranspose2d(_:weight:bias:stride:padding:outputPadding:dilation:groups:)-(_,_,_,(Int,Int),_,_,_,_)``.
    ///
    /// - Parameters:
    ///   - input: `[N, C_in, H, W]`.
    ///   - weight: `[C_in, C_out/groups, kH, kW]`.
    ///   - bias: `[C_out]`, or `nil`.
    ///   - stride: the stride of the convolution this op transposes, on both axes.
    ///   - padding: the padding of the convolution this op transposes, on both axes.
    ///   - outputPadding: extra rows and columns added on the bottom and right.
    ///   - dilation: the spacing between kernel taps, on both axes.
    ///   - groups: the number of channel groups; divides `C_in`.
    /// - Returns: `[N, C_out, Ho, Wo]`.
    @_disfavoredOverload
    public static func convTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                                       outputPadding: Int = 0, dilation: Int = 1, groups: Int = 1) -> Tensor {
        convTranspose2d(input, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
                        outputPadding: (outputPadding, outputPadding), dilation: (dilation, dilation), groups: groups)
    }

    // MARK: Reference kernels

    /// The naive seven-loop convolution with the semantics of
    /// ``conv2d(_:weight:bias:stride:padding:dilation:groups:)-(_,_,_,(Int,Int),_,_,_)`` (no autodiff),
    /// the reference for tests and benchmarks.
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`.
    ///   - weight: `[O, C/groups, kH, kW]`.
    ///   - bias: `[O]`, or `nil`.
    ///   - stride: `(sY, sX)`.
    ///   - padding: `(pY, pX)` zeros on each side.
    ///   - dilation: `(dY, dX)`.
    ///   - groups: the number of channel groups.
    /// - Returns: `[N, O, Ho, Wo]`.
    public static func referenceConv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                                       padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        precondition(input.rank == 4 && weight.rank == 4 && input.shape[1] == weight.shape[1] * groups
                     && weight.shape[0] % groups == 0,
                     "referenceConv2d: input \(input.shape), weight \(weight.shape) and groups \(groups) do not match")
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (O, Cg, kH, kW) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let Og = O / groups
        let Ho = ConvolutionGeometry.outputSize(H, kernel: kH, stride: stride.0, padding: padding.0, dilation: dilation.0)
        let Wo = ConvolutionGeometry.outputSize(W, kernel: kW, stride: stride.1, padding: padding.1, dilation: dilation.1)
        precondition(Ho > 0 && Wo > 0, "referenceConv2d: empty output for input \(input.shape) and weight \(weight.shape)")
        let x = input.scalars, w = weight.scalars, b = bias?.scalars
        var y = [Float](repeating: 0, count: N * O * Ho * Wo)
        for n in 0..<N {
            for o in 0..<O {
                let group = o / Og
                for i in 0..<Ho {
                    for j in 0..<Wo {
                        var s = b?[o] ?? 0
                        for c in 0..<Cg {
                            for ky in 0..<kH {
                                for kx in 0..<kW {
                                    let iy = i * stride.0 - padding.0 + ky * dilation.0
                                    let ix = j * stride.1 - padding.1 + kx * dilation.1
                                    guard iy >= 0 && iy < H && ix >= 0 && ix < W else { continue }
                                    s += w[((o * Cg + c) * kH + ky) * kW + kx] * x[((n * C + group * Cg + c) * H + iy) * W + ix]
                                }
                            }
                        }
                        y[((n * O + o) * Ho + i) * Wo + j] = s
                    }
                }
            }
        }
        return Tensor(shape: [N, O, Ho, Wo], scalars: y)
    }

    /// The naive scatter loop of a transposed convolution with the semantics of
    /// ``convTranspose2d(_:weight:bias:stride:padding:outputPadding:dilation:groups:)-(_,_,_,(Int,Int),_,_,_,_)``
    /// (no autodiff), the reference for tests and benchmarks.
    ///
    /// - Parameters:
    ///   - input: `[N, C_in, H, W]`.
    ///   - weight: `[C_in, C_out/groups, kH, kW]`.
    ///   - bias: `[C_out]`, or `nil`.
    ///   - stride: `(sY, sX)`.
    ///   - padding: `(pY, pX)`.
    ///   - outputPadding: `(opY, opX)`.
    ///   - dilation: `(dY, dX)`.
    ///   - groups: the number of channel groups.
    /// - Returns: `[N, C_out, Ho, Wo]`.
    public static func referenceConvTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                                                padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0),
                                                dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        precondition(input.rank == 4 && weight.rank == 4 && input.shape[1] == weight.shape[0] && input.shape[1] % groups == 0,
                     "referenceConvTranspose2d: input \(input.shape), weight \(weight.shape) and groups \(groups) do not match")
        let (N, C, H, W) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (Og, kH, kW) = (weight.shape[1], weight.shape[2], weight.shape[3])
        let O = Og * groups, Cg = C / groups
        let Ho = (H - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kH - 1) + outputPadding.0 + 1
        let Wo = (W - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kW - 1) + outputPadding.1 + 1
        precondition(Ho > 0 && Wo > 0, "referenceConvTranspose2d: empty output for input \(input.shape) and weight \(weight.shape)")
        let x = input.scalars, w = weight.scalars
        var y = [Float](repeating: 0, count: N * O * Ho * Wo)
        for n in 0..<N {
            for c in 0..<C {
                let group = c / Cg
                for i in 0..<H {
                    for j in 0..<W {
                        let v = x[((n * C + c) * H + i) * W + j]
                        for oc in 0..<Og {
                            for ky in 0..<kH {
                                for kx in 0..<kW {
                                    let oy = i * stride.0 - padding.0 + ky * dilation.0
                                    let ox = j * stride.1 - padding.1 + kx * dilation.1
                                    guard oy >= 0 && oy < Ho && ox >= 0 && ox < Wo else { continue }
                                    y[((n * O + group * Og + oc) * Ho + oy) * Wo + ox] += v * w[((c * Og + oc) * kH + ky) * kW + kx]
                                }
                            }
                        }
                    }
                }
            }
        }
        if let bias {
            let b = bias.scalars
            for n in 0..<N { for o in 0..<O { for p in 0..<(Ho * Wo) { y[(n * O + o) * Ho * Wo + p] += b[o] } } }
        }
        return Tensor(shape: [N, O, Ho, Wo], scalars: y)
    }
}
