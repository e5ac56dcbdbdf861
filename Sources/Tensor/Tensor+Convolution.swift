// 2-D convolution and transposed convolution (NCHW, PyTorch weight layouts): the public ops, the
// three raw kernels they are built from, and the naive reference loops.
//
// Every kernel works on a `ConvolutionGeometry`, the sizes of one convolution from its input
// `[N, C, H, W]` to its output `[N, O, Ho, Wo]`. Three raw kernels cover both ops:
//   forward          y = conv(x, w)          im2col + one sgemm per image, group and row tile
//   input gradient   dx = convᵀ(dy, w)       sgemm + col2im
//   weight gradient  dw = dy · colsᵀ         im2col + sgemm
// A transposed convolution is the input gradient of the convolution it transposes, so its
// forward is the input-gradient kernel and its backward the forward and weight-gradient kernels.
// Each raw kernel dispatches to one of several paths (ConvolutionDispatch.swift holds the
// choice and its thresholds): depthwise direct loops (+Depthwise), shifted windows and batched
// im2col for many small images (+Shifted, +Batched), Winograd for large 3×3 convolutions
// (Tensor+Winograd.swift) and the general im2col kernels (+Im2col; 1×1 stride-1 unpadded
// convolutions skip im2col, the image itself being the column matrix). The naive loops
// `referenceConv2d` and `referenceConvTranspose2d` at the end of this file are kept for tests
// and benchmarks.

extension Tensor {
    // MARK: Raw kernels (dispatch)

    /// Forward convolution: `output[N, O, Ho, Wo] = conv(input[N, C, H, W], weight) + bias`, by
    /// the kernel ``ConvolutionDispatch/forwardPath(_:inference:)`` picks for `g`; `inference`
    /// says that no gradient flows through this forward.
    static func convolutionForward(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>?, _ g: ConvolutionGeometry, inference: Bool = false,
                                   into output: UnsafeMutablePointer<Float>) {
        switch ConvolutionDispatch.forwardPath(g, inference: inference) {
        case .depthwise:
            depthwiseForward(input, weight: weight, bias: bias, g, into: output)
        case .shiftedWindows:
            convolutionForwardShifted(input, weight: weight, bias: bias, g, into: output)
        case .batched(let imagesPerBlock):
            convolutionForwardBatched(input, weight: weight, bias: bias, g, imagesPerBlock: imagesPerBlock, into: output)
        case .winograd:
            winogradForward(input, weight: weight, bias: bias, g, into: output)
        case .winogradBlocks:
            winogradForwardTinyImages(input, weight: weight, bias: bias, g, into: output)
        case .im2col:
            convolutionForwardIm2col(input, weight: weight, bias: bias, g, into: output)
        }
    }

    /// Input gradient of a convolution: `inputGradient[N, C, H, W] = convᵀ(outputGradient[N, O, Ho, Wo], weight)`,
    /// by direct loops (depthwise), the batched kernel (many small images, see
    /// ``ConvolutionDispatch/backwardImagesPerBlock(_:)``) or the im2col kernel. Overwrites `inputGradient`.
    static func convolutionInputGradient(_ outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                         _ g: ConvolutionGeometry, into inputGradient: UnsafeMutablePointer<Float>) {
        if g.isDepthwise {
            depthwiseInputGradient(outputGradient, weight: weight, g, into: inputGradient)
            return
        }
        let imagesPerBlock = ConvolutionDispatch.backwardImagesPerBlock(g)
        if imagesPerBlock > 1 {
            convolutionInputGradientBatched(outputGradient, weight: weight, g, imagesPerBlock: imagesPerBlock, into: inputGradient)
            return
        }
        convolutionInputGradientIm2col(outputGradient, weight: weight, g, into: inputGradient)
    }

    /// Weight gradient of a convolution: `weightGradient[O, C/groups, kH, kW] = Σₙ dy · colsᵀ`, by
    /// the same choice of kernel as ``convolutionInputGradient(_:weight:_:into:)``. Overwrites `weightGradient`.
    static func convolutionWeightGradient(_ input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                          _ g: ConvolutionGeometry, into weightGradient: UnsafeMutablePointer<Float>) {
        if g.isDepthwise {
            depthwiseWeightGradient(input, outputGradient: outputGradient, g, into: weightGradient)
            return
        }
        let imagesPerBlock = ConvolutionDispatch.backwardImagesPerBlock(g)
        if imagesPerBlock > 1 {
            convolutionWeightGradientBatched(input, outputGradient: outputGradient, g, imagesPerBlock: imagesPerBlock, into: weightGradient)
            return
        }
        convolutionWeightGradientIm2col(input, outputGradient: outputGradient, g, into: weightGradient)
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
        let records = GradientMode.isEnabled
            && (input.requiresGradient || weight.requiresGradient || (bias?.requiresGradient ?? false))
        convolutionForward(input.storage.baseAddress, weight: weight.storage.baseAddress,
                           bias: bias?.storage.baseAddress, geometry, inference: !records, into: out.storage.baseAddress)
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
