import Testing
import Tensor
import GrainTestSupport

// avgPool2d, maxPool2d and adaptiveAvgPool2d: against the tap-by-tap reference kernels, against
// values and output sizes generated with PyTorch, and their gradients by finite differences.

@Suite struct PoolingTests {
    /// A pooling configuration on a `[2, 3, H, W]` input.
    struct Config: CustomStringConvertible {
        var height: Int, width: Int
        var kernel: (Int, Int), stride: (Int, Int)?, padding = (0, 0), dilation = (1, 1)
        var ceilMode = false
        var description: String { "\(height)×\(width) k\(kernel) s\(String(describing: stride)) p\(padding) d\(dilation) ceil \(ceilMode)" }
    }

    static let configs: [Config] = [
        Config(height: 16, width: 16, kernel: (3, 3), stride: (2, 2), padding: (1, 1)),
        Config(height: 6, width: 5, kernel: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true),
        Config(height: 7, width: 9, kernel: (2, 3), stride: (3, 2), padding: (1, 1), ceilMode: true),
        Config(height: 8, width: 8, kernel: (2, 2), stride: nil),
        Config(height: 9, width: 7, kernel: (3, 2), stride: (1, 3), padding: (1, 0), ceilMode: true),
        Config(height: 10, width: 10, kernel: (4, 4), stride: (4, 4), padding: (2, 2), ceilMode: true),
    ]

    @Test func averageMatchesReference() {
        let x = randomTensor([2, 3, 16, 16], seed: 1)
        for c in Self.configs {
            let input = x.sliced(axis: 2, end: c.height).sliced(axis: 3, end: c.width)
            for include in [true, false] {
                let fast = Tensor.avgPool2d(input, kernelSize: c.kernel, stride: c.stride, padding: c.padding,
                                            ceilMode: c.ceilMode, countIncludePadding: include)
                let naive = Tensor.referenceAvgPool2d(input, kernelSize: c.kernel, stride: c.stride, padding: c.padding,
                                                      ceilMode: c.ceilMode, countIncludePadding: include)
                expectClose(fast, naive, rtol: 1e-5, atol: 1e-6, "avgPool2d \(c) countIncludePadding \(include)")
            }
        }
    }

    @Test func maxMatchesReference() {
        let x = randomTensor([2, 3, 16, 16], seed: 2)
        var configs = Self.configs
        configs.append(Config(height: 9, width: 11, kernel: (3, 2), stride: (2, 2), padding: (1, 1), dilation: (2, 3)))
        configs.append(Config(height: 9, width: 9, kernel: (2, 2), stride: (2, 2), padding: (1, 1), dilation: (2, 2), ceilMode: true))
        for c in configs {
            let input = x.sliced(axis: 2, end: c.height).sliced(axis: 3, end: c.width)
            let fast = Tensor.maxPool2d(input, kernelSize: c.kernel, stride: c.stride, padding: c.padding,
                                        dilation: c.dilation, ceilMode: c.ceilMode)
            let naive = Tensor.referenceMaxPool2d(input, kernelSize: c.kernel, stride: c.stride, padding: c.padding,
                                                  dilation: c.dilation, ceilMode: c.ceilMode)
            expectClose(fast, naive, rtol: 0, atol: 0, "maxPool2d \(c)")
        }
    }

    /// Output extents from `torch.nn.functional.max_pool2d(torch.zeros(1, 1, H, H), k, s, p,
    /// dilation=d, ceil_mode=c).shape[-1]` (PyTorch 2.15), including windows that ceil mode drops
    /// because they would start in the right padding.
    @Test func outputSizesMatchTorch() {
        let cases: [(size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceil: Bool, expected: Int)] = [
            (5, 2, 2, 0, 1, true, 3), (6, 3, 2, 1, 1, true, 4), (7, 3, 3, 1, 1, true, 3), (4, 2, 3, 1, 1, true, 2),
            (10, 3, 4, 1, 1, true, 3), (9, 2, 2, 1, 2, true, 5), (8, 3, 3, 0, 1, true, 3), (5, 3, 2, 1, 1, false, 3),
        ]
        for c in cases {
            let y = Tensor.maxPool2d(Tensor(repeating: 0, shape: [1, 1, c.size, c.size]), kernelSize: c.kernel, stride: c.stride,
                                     padding: c.padding, dilation: c.dilation, ceilMode: c.ceil)
            #expect(y.shape == [1, 1, c.expected, c.expected], "maxPool2d size \(c)")
        }
    }

    /// Expected values from `torch.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True,
    /// count_include_pad=…)` and `avg_pool2d(x, (2, 3), (3, 2), (1, 1), ceil_mode=True)` with
    /// `x = patternedTensor([1, 1, 6, 5])` (PyTorch 2.15): the divisor is clipped at the padded border.
    @Test func averageMatchesTorch() {
        let x = patternedTensor([1, 1, 6, 5])
        let included: [Float] = [-0.022222228, 0.055555552, 0.055555556, -0.077777773, -0.044444449, -0.022222221,
                                 0.06666667, -0.011111114, -3.3113692e-09, 0.1, 0.033333331, 0.066666663]
        let excluded: [Float] = [-0.050000012, 0.083333328, 0.125, -0.11666667, -0.044444449, -0.033333331,
                                 0.1, -0.011111114, -4.9670539e-09, 0.30000001, 0.066666663, 0.19999999]
        expectClose(Tensor.avgPool2d(x, kernelSize: 3, stride: 2, padding: 1, ceilMode: true),
                    Tensor(shape: [1, 1, 4, 3], scalars: included), rtol: 1e-5, atol: 1e-6, "avgPool2d ceil include")
        expectClose(Tensor.avgPool2d(x, kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePadding: false),
                    Tensor(shape: [1, 1, 4, 3], scalars: excluded), rtol: 1e-5, atol: 1e-6, "avgPool2d ceil exclude")
        let rectangular: [Float] = [-0.050000001, 0.083333336, 0.1, -0.13333334, -0.06666667, -0.016666666,
                                    0.1, 0.033333331, 0.066666663]
        expectClose(Tensor.avgPool2d(x, kernelSize: (2, 3), stride: (3, 2), padding: (1, 1), ceilMode: true),
                    Tensor(shape: [1, 1, 3, 3], scalars: rectangular), rtol: 1e-5, atol: 1e-6, "avgPool2d rectangular")
    }

    /// Expected values from `torch.nn.functional.max_pool2d(x, 2, 2, 1, ceil_mode=True)` and
    /// `max_pool2d(x, 3, 2, 1, dilation=2)` with `x = patternedTensor([1, 1, 7, 6], multiplier: 5,
    /// modulus: 17)` (PyTorch 2.15).
    @Test func maxMatchesTorch() {
        let x = patternedTensor([1, 1, 7, 6], multiplier: 5, modulus: 17)
        let ceil: [Float] = [-0.5, 0.5, 1, 0.30000001, 0.79999995, 0.89999998, 1.1, -0.099999994,
                             0, 1, 1.1, 0.79999995, 0.89999998, 1, 0.79999995, 0]
        expectClose(Tensor.maxPool2d(x, kernelSize: 2, stride: 2, padding: 1, ceilMode: true),
                    Tensor(shape: [1, 1, 4, 4], scalars: ceil), rtol: 1e-6, atol: 0, "maxPool2d ceil")
        let dilated: [Float] = [0.60000002, 0.79999995, 0.70000005, 0.79999995, 0.70000005, 0.79999995]
        expectClose(Tensor.maxPool2d(x, kernelSize: 3, stride: 2, padding: 1, dilation: 2),
                    Tensor(shape: [1, 1, 3, 2], scalars: dilated), rtol: 1e-6, atol: 0, "maxPool2d dilated")
    }

    /// Expected values from `torch.nn.functional.adaptive_avg_pool2d(patternedTensor([1, 1, 5, 7]),
    /// (3, 4))` (PyTorch 2.15): overlapping windows.
    @Test func adaptiveMatchesTorch() {
        let expected: [Float] = [-0.17500001, 0.050000001, -0.016666666, 0.024999991, -0.066666663, -0.055555556,
                                 0, -0.049999997, -0.050000012, -0.099999994, 0.016666671, -0.125]
        expectClose(Tensor.adaptiveAvgPool2d(patternedTensor([1, 1, 5, 7]), outputSize: (3, 4)),
                    Tensor(shape: [1, 1, 3, 4], scalars: expected), rtol: 1e-5, atol: 1e-6, "adaptiveAvgPool2d")
        // Dividing sizes reduce to plain average pooling.
        let x = randomTensor([2, 3, 8, 6], seed: 3)
        expectClose(Tensor.adaptiveAvgPool2d(x, outputSize: (4, 2)), Tensor.avgPool2d(x, kernelSize: (2, 3)),
                    rtol: 1e-6, atol: 1e-6, "adaptiveAvgPool2d divisible")
        expectClose(Tensor.adaptiveAvgPool2d(x, outputSize: 1), x.mean(alongAxes: [2, 3], keepingDimensions: true),
                    rtol: 1e-5, atol: 1e-6, "adaptiveAvgPool2d global")
    }

    @Test func gradients() {
        let x = randomTensor([1, 2, 6, 5], seed: 4)
        expectGradients("avgPool2d ceil include", [x]) {
            Tensor.avgPool2d($0[0], kernelSize: 3, stride: 2, padding: 1, ceilMode: true)
        }
        expectGradients("avgPool2d ceil exclude", [x]) {
            Tensor.avgPool2d($0[0], kernelSize: (2, 3), stride: (3, 2), padding: (1, 1), ceilMode: true, countIncludePadding: false)
        }
        expectGradients("adaptiveAvgPool2d", [x]) { Tensor.adaptiveAvgPool2d($0[0], outputSize: (4, 3)) }
        // Well-separated distinct values (a permutation of 0.1·k), so no tap is near a tie.
        let count = 2 * 6 * 5
        let distinct = Tensor(shape: [1, 2, 6, 5], scalars: (0..<count).map { Float(($0 * 37) % count) * 0.1 - 3 })
        expectGradients("maxPool2d overlapping ceil", [distinct]) {
            Tensor.maxPool2d($0[0], kernelSize: 3, stride: 2, padding: 1, ceilMode: true)
        }
        expectGradients("maxPool2d dilated", [distinct]) {
            Tensor.maxPool2d($0[0], kernelSize: (2, 2), stride: (1, 2), padding: (1, 0), dilation: (2, 2))
        }
    }
}
