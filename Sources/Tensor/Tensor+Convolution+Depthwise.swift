// The depthwise path of the 2-D convolution (one input channel per group): direct loops over
// each channel's plane for the forward and both gradients, instead of tiny sgemms.

extension Tensor {
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
}
