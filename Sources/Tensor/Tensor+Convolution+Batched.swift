// The batched im2col path of the 2-D convolution: many small images share one column matrix,
// side by side, so that one sgemm covers a block of images instead of one thin sgemm per image.
// The forward (any groups and stride) and both gradients (one group) of small images
// (ConvolutionDispatch.swift says which shapes take it).

extension Tensor {
    // MARK: Forward

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

    // MARK: Backward

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
}
