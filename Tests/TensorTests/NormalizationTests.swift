import Testing
import Tensor
import GrainTestSupport

// Layer and group normalisation: fused kernels against the composed references, values from
// PyTorch, precision with a large mean, and finite-difference gradients.

@Suite struct NormalizationTests {
    @Test func layerNormMatchesPyTorch() {
        let x = Tensor(shape: [2, 4], scalars: [1, 2, 3, 4, -2, 0, 0.5, 10])
        // torch.nn.functional.layer_norm(x, [4])
        expectClose(Tensor.layerNorm(x, normalizedShape: [4]),
                    Tensor(shape: [2, 4], scalars: [-1.34163547, -0.44721183, 0.44721183, 1.34163547,
                                                    -0.88865191, -0.45779037, -0.35007501, 1.69651723]),
                    "layerNorm vs PyTorch")
        let w = Tensor([1, -1, 2, 0.5]), b = Tensor([0, 1, 0, -1])
        expectClose(Tensor.layerNorm(x, normalizedShape: [4], weight: w, bias: b),
                    Tensor(shape: [2, 4], scalars: [-1.34163547, 1.44721186, 0.89442366, -0.32918227,
                                                    -0.88865191, 1.45779037, -0.70015001, -0.15174139]),
                    "layerNorm affine vs PyTorch")
    }

    @Test func groupNormMatchesPyTorch() {
        let x = Tensor.arange(0, 12).reshaped([1, 4, 3])
        // torch.nn.functional.group_norm(x, 2, [1, 2, 3, 4], [0, 0, 1, 1])
        let y = Tensor.groupNorm(x, groups: 2, weight: Tensor([1, 2, 3, 4]), bias: Tensor([0, 0, 1, 1]))
        expectClose(y, Tensor(shape: [1, 4, 3], scalars: [-1.46384764, -0.87830859, -0.29276955,
                                                          0.58553898, 1.75661707, 2.92769527,
                                                          -3.39154243, -1.63492537, 0.12169170,
                                                          2.17107844, 4.51323462, 6.85539055]),
                    "groupNorm vs PyTorch")
    }

    @Test func fusedMatchesReference() {
        // Rows of 1,100 elements exercise several 512-element blocks and a ragged tail.
        for (shape, normalized) in [([3, 4, 5, 6], [4, 5, 6]), ([5, 7], [7]), ([2, 3, 1100], [1100]), ([2, 2, 20, 25], [2, 20, 25])] {
            let x = randomTensor(shape, seed: 11, lower: -3, upper: 2)
            let w = randomTensor(normalized, seed: 12), b = randomTensor(normalized, seed: 13)
            expectClose(Tensor.layerNorm(x, normalizedShape: normalized, weight: w, bias: b),
                        Tensor.referenceLayerNorm(x, normalizedShape: normalized, weight: w, bias: b),
                        rtol: 1e-4, atol: 1e-5, "layerNorm \(shape)")
            expectClose(Tensor.layerNorm(x, normalizedShape: normalized),
                        Tensor.referenceLayerNorm(x, normalizedShape: normalized), rtol: 1e-4, atol: 1e-5,
                        "layerNorm \(shape) no affine")
        }
        for (shape, groups) in [([2, 6, 5, 3], 3), ([3, 4], 2), ([2, 8, 9, 9], 4), ([1, 4, 40], 1)] {
            let x = randomTensor(shape, seed: 14, lower: -1, upper: 3)
            let w = randomTensor([shape[1]], seed: 15), b = randomTensor([shape[1]], seed: 16)
            expectClose(Tensor.groupNorm(x, groups: groups, weight: w, bias: b),
                        Tensor.referenceGroupNorm(x, groups: groups, weight: w, bias: b),
                        rtol: 1e-4, atol: 1e-5, "groupNorm \(shape) / \(groups)")
        }
    }

    /// A large mean and a small spread: the one-pass statistics must keep the variance exact.
    @Test func largeMeanPrecision() {
        let width = 777
        var scalars: [Float] = []
        for row in 0..<3 {
            for j in 0..<width { scalars.append(1000 + Float(row) * 250 + Float((j * 37) % 101) / 50 - 1) }
        }
        let x = Tensor(shape: [3, width], scalars: scalars)
        let y = Tensor.layerNorm(x, normalizedShape: [width])
        var expected: [Float] = []
        for row in 0..<3 {
            let values = scalars[(row * width)..<((row + 1) * width)].map(Double.init)
            let mean = values.reduce(0, +) / Double(width)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            expected += values.map { Float(($0 - mean) / (variance + 1e-5).squareRoot()) }
        }
        expectClose(y, Tensor(shape: [3, width], scalars: expected), rtol: 1e-5, atol: 1e-6, "layerNorm large mean")
    }

    @Test func layerNormGradients() {
        let x = randomTensor([2, 3, 5], seed: 21, lower: -2, upper: 2)
        let w = randomTensor([3, 5], seed: 22, lower: 0.5, upper: 1.5), b = randomTensor([3, 5], seed: 23)
        expectGradients("layerNorm affine", [x, w, b], epsilon: 1e-2, rtol: 3e-2, atol: 3e-3) {
            Tensor.layerNorm($0[0], normalizedShape: [3, 5], weight: $0[1], bias: $0[2])
        }
        expectGradients("layerNorm plain", [x]) { Tensor.layerNorm($0[0], normalizedShape: [5]) }
        expectGradients("layerNorm weight only", [x, w.reshaped([15])]) {
            Tensor.layerNorm($0[0].reshaped([2, 15]), normalizedShape: [15], weight: $0[1])
        }
    }

    @Test func groupNormGradients() {
        let x = randomTensor([2, 4, 3, 2], seed: 31, lower: -2, upper: 2)
        let w = randomTensor([4], seed: 32, lower: 0.5, upper: 1.5), b = randomTensor([4], seed: 33)
        expectGradients("groupNorm affine", [x, w, b], epsilon: 1e-2, rtol: 3e-2, atol: 3e-3) {
            Tensor.groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2])
        }
        expectGradients("groupNorm no spatial", [randomTensor([3, 6], seed: 34, lower: -2, upper: 2)]) {
            Tensor.groupNorm($0[0], groups: 2)
        }
        // 20 spatial positions: a full SIMD16 block plus a tail.
        expectGradients("groupNorm bias only", [randomTensor([1, 2, 20], seed: 35, lower: -2, upper: 2), b.sliced(axis: 0, end: 2)]) {
            Tensor.groupNorm($0[0], groups: 1, bias: $0[1])
        }
    }

    /// LayerNorm fused with a clamp gives exactly the values of the two ops (ReLU and Hardtanh),
    /// NaN included, on rows split across cores; with gradients it is the two ops.
    @Test func layerNormClampedEqualsLayerNormThenActivation() {
        var x = randomTensor([40, 4, 8, 8], seed: 50, lower: -3, upper: 3)
        x.withUnsafeMutableBufferPointer { $0[17] = .nan }
        let w = randomTensor([4, 8, 8], seed: 51), b = randomTensor([4, 8, 8], seed: 52)
        Tensor.withoutGradient {
            let normalized = Tensor.layerNorm(x, normalizedShape: [4, 8, 8], weight: w, bias: b)
            let relu = Tensor.layerNorm(x, normalizedShape: [4, 8, 8], weight: w, bias: b, clampedTo: 0...Float.infinity)
            #expect(relu.scalars.map(\.bitPattern) == normalized.relu().scalars.map(\.bitPattern))
            let hardtanh = Tensor.layerNorm(x, normalizedShape: [4, 8, 8], weight: w, bias: b, clampedTo: -0.5...0.5)
            #expect(hardtanh.scalars.map(\.bitPattern) == normalized.hardtanh(min: -0.5, max: 0.5).scalars.map(\.bitPattern))
            let plain = Tensor.layerNorm(x, normalizedShape: [4, 8, 8], clampedTo: 0...Float.infinity)
            #expect(plain.scalars.map(\.bitPattern) == Tensor.layerNorm(x, normalizedShape: [4, 8, 8]).relu().scalars.map(\.bitPattern))
        }
        let smooth = randomTensor([3, 2, 5], seed: 53, lower: -2, upper: 2)
        let seed = randomTensor([3, 2, 5], seed: 54), smallWeight = randomTensor([2, 5], seed: 55)
        let fused = gradientsOfWeightedSum([smooth, smallWeight], seed) {
            Tensor.layerNorm($0[0], normalizedShape: [2, 5], weight: $0[1], clampedTo: -1...1)
        }
        let composed = gradientsOfWeightedSum([smooth, smallWeight], seed) {
            Tensor.layerNorm($0[0], normalizedShape: [2, 5], weight: $0[1]).hardtanh(min: -1, max: 1)
        }
        for i in 0..<2 { expectClose(fused[i], composed[i], rtol: 0, atol: 0, "layerNorm clamped gradient \(i)") }
    }

    /// Fused backward against the gradients of the composed reference, on shapes large enough to
    /// run on both cores (≥ 65,536 elements) and with rows longer than one SIMD block.
    @Test func fusedBackwardMatchesReference() {
        let seed = randomTensor([16, 8, 24, 24], seed: 40)
        let x = randomTensor([16, 8, 24, 24], seed: 41, lower: -2, upper: 3)
        do {
            let w = randomTensor([8, 24, 24], seed: 42), b = randomTensor([8, 24, 24], seed: 43)
            let fused = gradientsOfWeightedSum([x, w, b], seed) { Tensor.layerNorm($0[0], normalizedShape: [8, 24, 24], weight: $0[1], bias: $0[2]) }
            let naive = gradientsOfWeightedSum([x, w, b], seed) { Tensor.referenceLayerNorm($0[0], normalizedShape: [8, 24, 24], weight: $0[1], bias: $0[2]) }
            for (i, name) in ["input", "weight", "bias"].enumerated() {
                expectClose(fused[i], naive[i], rtol: 1e-3, atol: 1e-4, "layerNorm backward \(name)")
            }
        }
        do {
            let w = randomTensor([8], seed: 44), b = randomTensor([8], seed: 45)
            let fused = gradientsOfWeightedSum([x, w, b], seed) { Tensor.groupNorm($0[0], groups: 4, weight: $0[1], bias: $0[2]) }
            let naive = gradientsOfWeightedSum([x, w, b], seed) { Tensor.referenceGroupNorm($0[0], groups: 4, weight: $0[1], bias: $0[2]) }
            for (i, name) in ["input", "weight", "bias"].enumerated() {
                expectClose(fused[i], naive[i], rtol: 1e-3, atol: 1e-4, "groupNorm backward \(name)")
            }
        }
    }
}

/// The gradients of `Σ f(inputs) ⊙ seed` with respect to each input.
func gradientsOfWeightedSum(_ inputs: [Tensor], _ seed: Tensor, _ f: ([Tensor]) -> Tensor) -> [Tensor] {
    let leaves = inputs.map { $0.requiringGradient() }
    (f(leaves) * seed).sum().backward()
    return leaves.map { $0.gradient ?? Tensor.zeros($0.shape) }
}
