import Testing
import Tensor
import GrainTestSupport

// conv2d and convTranspose2d: the fast kernels against the naive reference loops on many
// geometries, the backward against finite differences (small) and against the adjoint identities
// of the reference (larger, tiled), plus one case generated with PyTorch.

/// The tensor `(k mod modulus) / 10 − 0.5` with `k = i·multiplier + offset` for element `i`,
/// reproducible in PyTorch with float32 arithmetic (for hard-coded expected values).
func patternedTensor(_ shape: [Int], multiplier: Int = 7, modulus: Int = 11, offset: Int = 0) -> Tensor {
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, scalars: (0..<count).map { Float(($0 * multiplier + offset) % modulus) / 10 - 0.5 })
}

/// `Σ a ⊙ b` in Double.
func dot(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.scalars, b.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

@Suite struct ConvolutionTests {
    /// A convolution configuration: input and weight shapes and the hyper-parameters.
    struct Config: CustomStringConvertible {
        var input: [Int], weight: [Int]
        var stride = (1, 1), padding = (0, 0), dilation = (1, 1), groups = 1
        var outputPadding = (0, 0)
        var bias = true
        var description: String {
            "x\(input) w\(weight) s\(stride) p\(padding) d\(dilation) g\(groups) op\(outputPadding)"
        }
    }

    static let convolutions: [Config] = [
        Config(input: [2, 3, 7, 6], weight: [4, 3, 3, 3], padding: (1, 1)),
        Config(input: [1, 3, 9, 8], weight: [5, 3, 3, 3], stride: (2, 2), padding: (1, 1)),
        Config(input: [1, 2, 9, 9], weight: [3, 2, 3, 3], padding: (2, 2), dilation: (2, 2), bias: false),
        Config(input: [2, 4, 6, 7], weight: [6, 2, 3, 3], stride: (1, 2), padding: (1, 0), groups: 2),
        Config(input: [2, 4, 8, 8], weight: [4, 1, 3, 3], padding: (1, 1), groups: 4),
        Config(input: [1, 3, 9, 7], weight: [6, 1, 3, 2], stride: (2, 1), padding: (1, 1), dilation: (1, 2), groups: 3),
        Config(input: [2, 5, 4, 6], weight: [3, 5, 1, 1]),
        Config(input: [1, 4, 5, 3], weight: [6, 2, 1, 1], groups: 2, bias: false),
        Config(input: [1, 4, 7, 5], weight: [3, 4, 1, 1], stride: (2, 2)),
        Config(input: [1, 2, 6, 9], weight: [3, 2, 2, 5], stride: (2, 1), padding: (0, 2)),
        Config(input: [1, 1, 5, 5], weight: [2, 1, 5, 5], padding: (2, 2)),
        // Batches of small ungrouped images take the batched backward (one sgemm per block).
        Config(input: [3, 4, 9, 8], weight: [5, 4, 3, 3], stride: (2, 2), padding: (1, 1)),
        Config(input: [4, 3, 8, 9], weight: [2, 3, 3, 2], padding: (2, 1), dilation: (2, 1), bias: false),
    ]

    func operands(_ c: Config, transposed: Bool = false) -> (Tensor, Tensor, Tensor?) {
        let x = randomTensor(c.input, seed: 11)
        let w = randomTensor(c.weight, seed: 12)
        let outputs = transposed ? c.weight[1] * c.groups : c.weight[0]
        return (x, w, c.bias ? randomTensor([outputs], seed: 13) : nil)
    }

    @Test func forwardMatchesReference() {
        for c in Self.convolutions {
            let (x, w, b) = operands(c)
            let fast = Tensor.conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding,
                                     dilation: c.dilation, groups: c.groups)
            let naive = Tensor.referenceConv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding,
                                               dilation: c.dilation, groups: c.groups)
            expectClose(fast, naive, rtol: 1e-5, atol: 1e-5, "conv2d \(c)")
        }
    }

    /// The backward against the adjoint identities of the reference: for a convolution `y` that is
    /// linear in `x` and in `w`, `⟨dx, u⟩ = ⟨dy, conv(u, w)⟩` and `⟨dw, v⟩ = ⟨dy, conv(x, v)⟩`.
    func expectAdjointGradients(_ c: Config, _ label: String) {
        let (x0, w0, _) = operands(c)
        let x = x0.requiringGradient(), w = w0.requiringGradient()
        let y = Tensor.conv2d(x, weight: w, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        let dy = randomTensor(y.shape, seed: 21)
        y.backward(dy)
        let u = randomTensor(c.input, seed: 22), v = randomTensor(c.weight, seed: 23)
        let yu = Tensor.referenceConv2d(u, weight: w0, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        let yv = Tensor.referenceConv2d(x0, weight: v, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        let (inputSide, inputExpected) = (dot(x.gradient!, u), dot(dy, yu))
        let (weightSide, weightExpected) = (dot(w.gradient!, v), dot(dy, yv))
        print("[adjoint] \(label): input \(inputSide) vs \(inputExpected), weight \(weightSide) vs \(weightExpected)")
        #expect(abs(inputSide - inputExpected) <= 1e-4 * max(1, abs(inputExpected)), "\(label) input gradient")
        #expect(abs(weightSide - weightExpected) <= 1e-4 * max(1, abs(weightExpected)), "\(label) weight gradient")
    }

    @Test func backwardMatchesReferenceAdjoint() {
        for c in Self.convolutions { expectAdjointGradients(c, "conv2d \(c)") }
    }

    /// An image whose column matrix exceeds the 4 Mi-float budget (18 × 240 000) is tiled over
    /// output rows (485 + 15 rows); forward and backward must not notice.
    @Test func tiledLargeImage() {
        let c = Config(input: [1, 2, 500, 480], weight: [1, 2, 3, 3], padding: (1, 1))
        let (x, w, b) = operands(c)
        let fast = Tensor.conv2d(x, weight: w, bias: b, padding: c.padding)
        let naive = Tensor.referenceConv2d(x, weight: w, bias: b, padding: c.padding)
        expectClose(fast, naive, rtol: 1e-5, atol: 1e-5, "conv2d tiled")
        expectAdjointGradients(c, "conv2d tiled")
    }

    /// A batch whose column matrices exceed the backward's 256 Ki-float block budget together
    /// (144 × 576 per image) runs the batched backward in blocks of 3 and 2 images.
    @Test func batchedBackwardInSeveralBlocks() {
        expectAdjointGradients(Config(input: [5, 16, 24, 24], weight: [3, 16, 3, 3], padding: (1, 1)), "conv2d batched blocks")
    }

    @Test func gradients() {
        let x = randomTensor([1, 2, 5, 4], seed: 1)
        expectGradients("conv2d stride/pad/dilation", [x, randomTensor([3, 2, 3, 2], seed: 2), randomTensor([3], seed: 3)]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 1), dilation: (1, 2))
        }
        let x4 = randomTensor([2, 4, 4, 4], seed: 4)
        expectGradients("conv2d groups 2", [x4, randomTensor([2, 2, 3, 3], seed: 5), randomTensor([2], seed: 6)]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1, groups: 2)
        }
        expectGradients("conv2d depthwise ×2", [x4, randomTensor([8, 1, 3, 3], seed: 7), randomTensor([8], seed: 8)]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1, groups: 4)
        }
        expectGradients("conv2d 1×1", [x4, randomTensor([3, 4, 1, 1], seed: 9), randomTensor([3], seed: 10)]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2])
        }
    }

    // MARK: Transposed convolution

    static let transposedConvolutions: [Config] = [
        Config(input: [2, 3, 4, 5], weight: [3, 2, 3, 3], stride: (2, 2), padding: (1, 1), outputPadding: (1, 1)),
        Config(input: [1, 4, 3, 4], weight: [4, 3, 3, 2], stride: (1, 2), padding: (2, 0), dilation: (2, 1), groups: 2,
               outputPadding: (1, 0)),
        Config(input: [1, 4, 5, 5], weight: [4, 1, 3, 3], stride: (2, 2), padding: (1, 1), groups: 4),
        Config(input: [1, 3, 4, 4], weight: [3, 2, 1, 1], bias: false),
        Config(input: [2, 2, 3, 5], weight: [2, 3, 4, 4], stride: (2, 2), padding: (1, 1)),
    ]

    @Test func transposedForwardMatchesReference() {
        for c in Self.transposedConvolutions {
            let (x, w, b) = operands(c, transposed: true)
            let fast = Tensor.convTranspose2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding,
                                              outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups)
            let naive = Tensor.referenceConvTranspose2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding,
                                                        outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups)
            expectClose(fast, naive, rtol: 1e-5, atol: 1e-5, "convTranspose2d \(c)")
        }
    }

    /// The transposed convolution is the adjoint of the convolution in its input:
    /// `⟨convT(x, w), u⟩ = ⟨x, conv(u, w)⟩`.
    @Test func transposedIsAdjointOfConvolution() {
        for c in Self.transposedConvolutions {
            let (x, w, _) = operands(c, transposed: true)
            let y = Tensor.convTranspose2d(x, weight: w, stride: c.stride, padding: c.padding,
                                           outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups)
            let u = randomTensor(y.shape, seed: 31)
            // With an output padding ≥ the stride the convolution yields extra rows and columns that
            // the transposed one never reaches: compare on the input's extent.
            let cu = Tensor.referenceConv2d(u, weight: w, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
                .sliced(axis: 2, end: x.shape[2]).sliced(axis: 3, end: x.shape[3])
            #expect(cu.shape == x.shape, "\(c)")
            let (lhs, rhs) = (dot(y, u), dot(x, cu))
            #expect(abs(lhs - rhs) <= 1e-4 * max(1, abs(rhs)), "convTranspose2d adjoint \(c): \(lhs) vs \(rhs)")
        }
    }

    @Test func transposedGradients() {
        expectGradients("convTranspose2d stride 2 output padding", [randomTensor([1, 2, 3, 3], seed: 1),
                                                                    randomTensor([2, 2, 3, 3], seed: 2), randomTensor([2], seed: 3)]) {
            Tensor.convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1, outputPadding: 1)
        }
        expectGradients("convTranspose2d groups dilation", [randomTensor([1, 4, 3, 3], seed: 4),
                                                            randomTensor([4, 1, 2, 3], seed: 5), randomTensor([2], seed: 6)]) {
            Tensor.convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (1, 2), padding: (0, 1), dilation: (2, 1), groups: 2)
        }
        expectGradients("convTranspose2d depthwise", [randomTensor([1, 3, 3, 3], seed: 7), randomTensor([3, 1, 3, 3], seed: 8)]) {
            Tensor.convTranspose2d($0[0], weight: $0[1], stride: 2, groups: 3)
        }
    }

    /// Expected values from `torch.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1,
    /// output_padding=1)` with `x = patternedTensor([1, 2, 3, 3])`,
    /// `w = patternedTensor([2, 2, 3, 3], multiplier: 5, modulus: 13, offset: 3)`, `b = [0.25, -0.5]`
    /// (PyTorch 2.15, float32).
    @Test func transposedMatchesTorch() {
        let x = patternedTensor([1, 2, 3, 3])
        let w = patternedTensor([2, 2, 3, 3], multiplier: 5, modulus: 13, offset: 3)
        let y = Tensor.convTranspose2d(x, weight: w, bias: Tensor([0.25, -0.5]), stride: 2, padding: 1, outputPadding: 1)
        let expected: [Float] = [
            0.12, 0.28999999, 0.31, 0.28, -0.049999982, 0.50999999, 0.26999998, 0.19999999, 0.31999999, -0.12000003,
            -0.18000001, 0.87, 0.57999998, 0.039999992, 0.22000003, 0.25, 0.29999998, 0.14, 0.86000001, 0.12000005,
            0.14000003, 0.019999981, 0.29999998, 0.66000003, 0.49000001, 0.11999999, 0.13, 0.33000001, 0.20999998,
            0.21000001, 0.59000003, 0.16, 0.069999993, 0.27000001, 0.20999996, 0.21000001, -0.49000001, -0.51999998,
            -0.50999999, -0.83000004, -0.31, -0.65999997, -0.83000004, -0.76999998, -0.43000001, -0.64999998,
            -0.57999998, -0.82999998, -0.65999997, -0.34999996, -0.46000001, -0.44, -0.59000003, -0.49000001,
            -0.73000002, -0.41000003, -0.32999998, -0.069999963, -0.58999997, -0.49000004, -0.61000001, -0.50999999,
            -0.41, -0.60000002, -0.54000002, -0.54000002, -0.50999999, -0.47000003, -0.47, -0.13999999, -0.54000002,
            -0.54000002,
        ]
        expectClose(y, Tensor(shape: [1, 2, 6, 6], scalars: expected), rtol: 1e-5, atol: 1e-6, "convTranspose2d vs torch")
    }
}

/// The shifted-window path (stride 1, one group, ≥ 16 channels, many small images) against the
/// naive kernel, including rectangular kernels, asymmetric padding and dilation.
@Test(arguments: [((3, 3), (1, 1), (1, 1)), ((3, 2), (1, 2), (2, 1)), ((1, 3), (0, 0), (1, 1)), ((5, 5), (2, 2), (1, 2))])
func shiftedWindowConvolutionMatchesReference(kernel: (Int, Int), padding: (Int, Int), dilation: (Int, Int)) {
    let x = randomTensor([5, 16, 6, 7], seed: 21)
    let w = randomTensor([7, 16, kernel.0, kernel.1], seed: 22)
    let b = randomTensor([7], seed: 23)
    let fast = Tensor.conv2d(x, weight: w, bias: b, padding: padding, dilation: dilation)
    let reference = Tensor.referenceConv2d(x, weight: w, bias: b, padding: padding, dilation: dilation)
    expectClose(fast, reference, rtol: 1e-5, atol: 1e-5, "shifted conv \(kernel) pad \(padding) dilation \(dilation)")
}

/// The shifted-window path with more blocks than workers (each worker runs whole blocks on its
/// own buffers, single-threaded sgemms): 41 extractor-sized images (32 channels, 16×16) make
/// four blocks of up to 11 images, the last one partial.
@Test func shiftedWindowConvolutionInParallelBlocksMatchesReference() {
    let x = randomTensor([41, 32, 16, 16], seed: 24)
    let w = randomTensor([32, 32, 3, 3], seed: 25)
    let b = randomTensor([32], seed: 26)
    let fast = Tensor.conv2d(x, weight: w, bias: b, padding: (1, 1))
    let reference = Tensor.referenceConv2d(x, weight: w, bias: b, padding: (1, 1))
    expectClose(fast, reference, rtol: 1e-4, atol: 1e-4, "shifted conv in parallel blocks")
}
