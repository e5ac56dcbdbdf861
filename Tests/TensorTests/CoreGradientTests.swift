import Testing
import Tensor
import GrainTestSupport

// Finite-difference gradient tests for the core ops: arithmetic, unary math, activations,
// shape ops, reductions and matmul.

@Suite struct CoreGradientTests {
    let a = randomTensor([2, 3], seed: 1)
    let b = randomTensor([3], seed: 2)
    let positive = randomTensor([2, 3], seed: 3, lower: 0.5, upper: 2)

    @Test func arithmetic() {
        expectGradients("add", [a, b]) { $0[0] + $0[1] }
        expectGradients("subtract", [a, b]) { $0[0] - $0[1] }
        expectGradients("multiply", [a, b]) { $0[0] * $0[1] }
        expectGradients("divide", [a, positive]) { $0[0] / $0[1] }
        expectGradients("negate", [a]) { -$0[0] }
        expectGradients("scalar ops", [positive]) { (2 - $0[0]) * 3 + 1 / $0[0] - $0[0] / 4 }
    }

    @Test func unaryMath() {
        expectGradients("abs", [a]) { $0[0].abs() }
        expectGradients("exp", [a]) { $0[0].exp() }
        expectGradients("log", [positive]) { $0[0].log() }
        expectGradients("sqrt", [positive]) { $0[0].sqrt() }
        expectGradients("rsqrt", [positive]) { $0[0].rsqrt() }
        expectGradients("square", [a]) { $0[0].square() }
        expectGradients("pow scalar", [positive]) { $0[0].pow(1.7) }
        expectGradients("pow tensor", [positive, b]) { Tensor.pow($0[0], $0[1]) }
        expectGradients("clamp", [a]) { $0[0].clamped(min: -0.5, max: 0.5) }
        expectGradients("minimum", [a, b]) { Tensor.minimum($0[0], $0[1]) }
        expectGradients("maximum", [a, b]) { Tensor.maximum($0[0], $0[1]) }
        let mask = Tensor(shape: [2, 3], scalars: [1, 0, 1, 0, 0, 1])
        expectGradients("select", [a, b]) { Tensor.select(where: mask, $0[0], $0[1]) }
    }

    @Test func activations() {
        let x = randomTensor([4, 5], seed: 4, lower: -3, upper: 3)
        expectGradients("relu", [x]) { $0[0].relu() }
        expectGradients("gelu", [x]) { $0[0].gelu() }
        expectGradients("geluTanh", [x]) { $0[0].geluTanh() }
        expectGradients("quickGelu", [x]) { $0[0].quickGelu() }
        expectGradients("silu", [x]) { $0[0].silu() }
        expectGradients("sigmoid", [x]) { $0[0].sigmoid() }
        expectGradients("tanh", [x]) { $0[0].tanh() }
        expectGradients("hardtanh", [x]) { $0[0].hardtanh(min: -2, max: 2) }
        expectGradients("softplus", [x]) { $0[0].softplus(beta: 2, threshold: 4) }
    }

    @Test func shapeOps() {
        let x = randomTensor([2, 3, 4], seed: 5)
        expectGradients("reshape", [x]) { $0[0].reshaped([6, -1]) * Tensor.arange(0, 4) }
        expectGradients("permute", [x]) { $0[0].permuted([2, 0, 1]) * Tensor.arange(0, 3) }
        expectGradients("transpose", [x]) { $0[0].transposed(0, 2) }
        expectGradients("expand", [b]) { $0[0].expanded(to: [4, 3]) * randomTensor([4, 3], seed: 9) }
        expectGradients("slice", [x]) { $0[0].sliced(axis: 2, start: 1, end: 4, step: 2) }
        expectGradients("indexSelect", [x]) { $0[0].indexSelected(axis: 1, indices: [2, 0, 2]) }
        expectGradients("gather", [x]) { $0[0].gathered(axis: 2, indices: [0, 3, 1, 1, 2, 0], indexShape: [1, 3, 2]) }
        expectGradients("concatenate", [x, a.reshaped([2, 3, 1])]) { Tensor.concatenate([$0[0], $0[1]], axis: 2) }
        expectGradients("stack", [a, positive]) { Tensor.stack([$0[0], $0[1]], axis: 1) }
        expectGradients("split", [x]) { let p = $0[0].split(sizes: [1, 3], axis: 2); return p[0] * 2 + p[1].sum(alongAxes: [2], keepingDimensions: true) }
        expectGradients("chunk", [x]) { let p = $0[0].chunked(2, axis: 2); return p[0] - p[1] * 3 }
        expectGradients("pad", [x]) { $0[0].padded([(0, 0), (1, 2), (2, 0)], value: 0.5) }
        expectGradients("flip", [x]) { $0[0].flipped(axes: [0, 2]) * Tensor.arange(0, 4) }
        expectGradients("squeeze/unsqueeze", [x]) { $0[0].unsqueezed(at: 1).squeezed(at: [1]) }
    }

    @Test func reductions() {
        let x = randomTensor([3, 4, 5], seed: 6)
        expectGradients("sum", [x]) { $0[0].sum(alongAxes: [0, 2]) }
        expectGradients("sum all", [x]) { $0[0].sum() }
        expectGradients("mean keepdim", [x]) { $0[0].mean(alongAxes: [1], keepingDimensions: true) }
        expectGradients("variance", [x]) { $0[0].variance(alongAxes: [2]) }
        expectGradients("variance population", [x]) { $0[0].variance(alongAxes: [0, 1], correction: 0) }
        // Extrema have kinks where two elements tie: distinct values 0.1 apart keep ±ε off them.
        var generator = RandomGenerator(seed: 3)
        let distinct = Tensor(shape: [3, 4, 5], scalars: (0..<60).map { Float($0) * 0.1 }.shuffled(using: &generator))
        expectGradients("max", [distinct]) { $0[0].max(alongAxes: [1]) }
        expectGradients("min", [distinct]) { $0[0].min(alongAxes: [0, 2], keepingDimensions: true) }
        expectGradients("logSumExp", [x]) { $0[0].logSumExp(alongAxes: [2]) }
        expectGradients("norm", [x]) { $0[0].norm(alongAxes: [1]) }
        expectGradients("norm p=3", [x]) { $0[0].norm(3, alongAxes: [2]) }
    }

    @Test func matmul() {
        let m = randomTensor([3, 4], seed: 7), n = randomTensor([4, 2], seed: 8)
        let batched = randomTensor([2, 3, 4], seed: 10), nT = randomTensor([2, 4], seed: 11)
        expectGradients("matmul", [m, n]) { Tensor.matmul($0[0], $0[1]) }
        expectGradients("matmul Aᵀ", [m, randomTensor([3, 2], seed: 12)]) { Tensor.matmul($0[0], $0[1], transposeA: true) }
        expectGradients("matmul Bᵀ", [m, nT]) { Tensor.matmul($0[0], $0[1], transposeB: true) }
        expectGradients("matmul AᵀBᵀ", [m, randomTensor([2, 3], seed: 13)]) { Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) }
        expectGradients("batched broadcast", [batched, n]) { Tensor.matmul($0[0], $0[1]) }
        expectGradients("vector", [randomTensor([4], seed: 14), n]) { Tensor.matmul($0[0], $0[1]) }
        expectGradients("linear", [batched, nT, randomTensor([2], seed: 15)]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
    }
}
