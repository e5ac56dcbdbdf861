import Testing
import Tensor
import GrainTestSupport

// upsampleNearest2d and upsampleBilinear2d: values generated with PyTorch for odd sizes (up and
// down, both corner conventions), closed-form identities, and gradients by finite differences.

@Suite struct UpsamplingTests {
    /// Expected values from `torch.nn.functional.interpolate(x, size=…, mode="nearest")` with
    /// `x = patternedTensor([1, 1, 3, 4])` (PyTorch 2.15).
    @Test func nearestMatchesTorch() {
        let x = patternedTensor([1, 1, 3, 4])
        let up: [Float] = [
            -0.5, -0.5, 0.19999999, 0.19999999, -0.19999999, -0.19999999, 0.5,
            -0.5, -0.5, 0.19999999, 0.19999999, -0.19999999, -0.19999999, 0.5,
            0.10000002, 0.10000002, -0.30000001, -0.30000001, 0.39999998, 0.39999998, 0,
            0.10000002, 0.10000002, -0.30000001, -0.30000001, 0.39999998, 0.39999998, 0,
            -0.40000001, -0.40000001, 0.30000001, 0.30000001, -0.099999994, -0.099999994, -0.5,
        ]
        expectClose(Tensor.upsampleNearest2d(x, size: (5, 7)), Tensor(shape: [1, 1, 5, 7], scalars: up),
                    rtol: 0, atol: 1e-7, "nearest 3×4 → 5×7")
        let down: [Float] = [-0.5, 0.19999999, -0.19999999, 0.10000002, -0.30000001, 0.39999998]
        expectClose(Tensor.upsampleNearest2d(x, size: (2, 3)), Tensor(shape: [1, 1, 2, 3], scalars: down),
                    rtol: 0, atol: 1e-7, "nearest 3×4 → 2×3")
    }

    @Test func nearestScaleFactorRepeatsPixels() {
        let x = randomTensor([2, 3, 4, 5], seed: 1)
        for s in [2, 3] {
            let y = Tensor.upsampleNearest2d(x, scaleFactor: s)
            #expect(y.shape == [2, 3, 4 * s, 5 * s])
            var ok = true
            for p in [[0, 0], [1, 2], [0, 1]] {
                for i in 0..<(4 * s) {
                    for j in 0..<(5 * s) where y[index: p + [i, j]] != x[index: p + [i / s, j / s]] { ok = false }
                }
            }
            #expect(ok, "nearest ×\(s) repeats each pixel in an \(s)×\(s) block")
        }
    }

    /// Expected values from `torch.nn.functional.interpolate(x, size=…, mode="bilinear",
    /// align_corners=…)` with `x = patternedTensor([1, 1, 3, 4])` (upsampling) and
    /// `patternedTensor([1, 1, 7, 9])` (downsampling) (PyTorch 2.15).
    @Test func bilinearMatchesTorch() {
        let small = patternedTensor([1, 1, 3, 4]), large = patternedTensor([1, 1, 7, 9])
        let upHalfPixel: [Float] = [
            -0.5, -0.24999997, 0.15000001, -4.6193598e-08, -0.14999984, 0.25000012, 0.5,
            -0.25999996, -0.16714284, -0.018571442, 0.02, 0.058571499, 0.2071429, 0.29999998,
            0.10000002, -0.042857151, -0.27142861, 0.050000064, 0.37142846, 0.14285706, 0,
            -0.20000006, -0.10714284, 0.041428659, 0.080000013, 0.071428426, -0.157143, -0.30000007,
            -0.40000001, -0.14999996, 0.25000003, 0.099999964, -0.12857151, -0.3571429, -0.5,
        ]
        let upCorners: [Float] = [
            -0.5, -0.15000001, 0.19999999, 0, -0.19999999, 0.15000001, 0.5,
            -0.19999999, -0.125, -0.050000012, 0.024999991, 0.099999994, 0.175, 0.25,
            0.10000002, -0.099999994, -0.30000001, 0.049999982, 0.39999998, 0.19999999, 0,
            -0.14999999, -0.075000003, 0, 0.074999996, 0.14999999, -0.050000004, -0.25,
            -0.40000001, -0.049999997, 0.30000001, 0.10000001, -0.099999994, -0.30000001, -0.5,
        ]
        let downHalfPixel: [Float] = [0.012499999, 0.21249999, 0.22916666, -0.07500001, 0.13749999, -0.34999999,
                                      -0.14999999, 0.049999997, -0.1499999, 0.050000113, 0.25000009, -0.0083334567]
        let downCorners: [Float] = [-0.5, 0.26666674, -0.066666573, -0.40000001, -0.30000001, -0.26666671,
                                    -0.23333339, -0.19999999, -0.099999994, -0.066666692, -0.033333387, 0]
        expectClose(Tensor.upsampleBilinear2d(small, size: (5, 7)), Tensor(shape: [1, 1, 5, 7], scalars: upHalfPixel),
                    rtol: 1e-5, atol: 1e-6, "bilinear 3×4 → 5×7")
        expectClose(Tensor.upsampleBilinear2d(small, size: (5, 7), alignCorners: true),
                    Tensor(shape: [1, 1, 5, 7], scalars: upCorners), rtol: 1e-5, atol: 1e-6, "bilinear 3×4 → 5×7 corners")
        expectClose(Tensor.upsampleBilinear2d(large, size: (3, 4)), Tensor(shape: [1, 1, 3, 4], scalars: downHalfPixel),
                    rtol: 1e-5, atol: 1e-6, "bilinear 7×9 → 3×4")
        expectClose(Tensor.upsampleBilinear2d(large, size: (3, 4), alignCorners: true),
                    Tensor(shape: [1, 1, 3, 4], scalars: downCorners), rtol: 1e-5, atol: 1e-6, "bilinear 7×9 → 3×4 corners")
        expectClose(Tensor.upsampleBilinear2d(large, size: (1, 1), alignCorners: true),
                    Tensor(shape: [1, 1, 1, 1], scalars: [-0.5]), rtol: 0, atol: 1e-7, "bilinear 7×9 → 1×1 corners")
    }

    @Test func bilinearIdentities() {
        let x = randomTensor([2, 3, 6, 8], seed: 2)
        // Same size: a copy, whichever corner convention.
        expectClose(Tensor.upsampleBilinear2d(x, size: (6, 8)), x, rtol: 0, atol: 0, "bilinear identity")
        expectClose(Tensor.upsampleBilinear2d(x, size: (6, 8), alignCorners: true), x, rtol: 0, atol: 0, "bilinear identity corners")
        // Halving with half-pixel centres samples exactly between four pixels: a 2×2 average.
        expectClose(Tensor.upsampleBilinear2d(x, size: (3, 4)), Tensor.avgPool2d(x, kernelSize: 2),
                    rtol: 1e-5, atol: 1e-6, "bilinear ½ = 2×2 average")
        // An integer scale factor is the same as the size it implies.
        expectClose(Tensor.upsampleBilinear2d(x, scaleFactor: 2), Tensor.upsampleBilinear2d(x, size: (12, 16)),
                    rtol: 0, atol: 0, "bilinear scale factor")
    }

    @Test func gradients() {
        let x = randomTensor([1, 2, 3, 4], seed: 3)
        expectGradients("upsampleNearest2d up", [x]) { Tensor.upsampleNearest2d($0[0], size: (5, 7)) }
        expectGradients("upsampleNearest2d down", [x]) { Tensor.upsampleNearest2d($0[0], size: (2, 3)) }
        expectGradients("upsampleNearest2d ×2", [x]) { Tensor.upsampleNearest2d($0[0], scaleFactor: 2) }
        expectGradients("upsampleBilinear2d up", [x]) { Tensor.upsampleBilinear2d($0[0], size: (5, 7)) }
        expectGradients("upsampleBilinear2d up corners", [x]) { Tensor.upsampleBilinear2d($0[0], size: (5, 6), alignCorners: true) }
        expectGradients("upsampleBilinear2d down", [randomTensor([1, 2, 7, 9], seed: 4)]) {
            Tensor.upsampleBilinear2d($0[0], size: (3, 4))
        }
    }
}
