// The im2col path of the 2-D convolution: the general forward (one sgemm per image, group and
// tile of output rows over the column matrix built by im2col; 1×1 stride-1 unpadded
// convolutions skip im2col, the input planes being the column matrix) and its two gradients
// (sgemm + col2im for the input, im2col + sgemm for the weight). Every convolution that no
// faster path takes runs here (ConvolutionDispatch.swift), and so do the gradients of every
// non-depthwise convolution of one image or of large images.

extension Tensor {
    /// Output rows per column tile for `geometry`.
    static func convolutionTileRows(_ geometry: ConvolutionGeometry) -> Int {
        let rowCost = Swift.max(1, geometry.patchSize &* geometry.outputWidth)
        return Swift.max(1, Swift.min(geometry.outputHeight, ConvolutionDispatch.columnBudget / rowCost))
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

    // MARK: Kernels

    /// The im2col forward: `output[N, O, Ho, Wo] = conv(input[N, C, H, W], weight) + bias`, one
    /// sgemm `[O/groups, K] · [K, tile]` per image, group and tile of ``convolutionTileRows(_:)``
    /// output rows (`[O/groups, C/groups] · [C/groups, H·W]` without im2col when pointwise).
    static func convolutionForwardIm2col(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                         bias: UnsafePointer<Float>?, _ g: ConvolutionGeometry,
                                         into output: UnsafeMutablePointer<Float>) {
        let K = g.patchSize, Cg = g.groupInputChannels, Og = g.groupOutputChannels
        let inPlane = g.inputPlane, outPlane = g.outputPlane, Wo = g.outputWidth
        let tileRows = convolutionTileRows(g)
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

    /// The im2col input gradient, one image and group at a time: `[O/groups, K]ᵀ · dY` per tile
    /// of output rows, then ``col2im(_:_:rowStart:rowEnd:into:)``. Overwrites `inputGradient`.
    static func convolutionInputGradientIm2col(_ outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                               _ g: ConvolutionGeometry, into inputGradient: UnsafeMutablePointer<Float>) {
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

    /// The im2col weight gradient, one image and group at a time: `dY · colsᵀ` per tile of output
    /// rows, accumulated. Overwrites `weightGradient`.
    static func convolutionWeightGradientIm2col(_ input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                                _ g: ConvolutionGeometry, into weightGradient: UnsafeMutablePointer<Float>) {
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
}
