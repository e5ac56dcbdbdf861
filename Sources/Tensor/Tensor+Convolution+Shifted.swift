// The shifted-window path of the 2-D convolution: many small images at stride 1, one sgemm per
// kernel tap over zero-padded images side by side, no column matrix. Forward only; the
// gradients of the convolutions it computes go through the batched or im2col kernels
// (ConvolutionDispatch.swift says which shapes take it).

extension Tensor {
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
        let largestBlock = Swift.max(1, Swift.min(g.batch, ConvolutionDispatch.shiftedBlockBudget / Swift.max((C &+ O) &* plane, 1)))
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
}
