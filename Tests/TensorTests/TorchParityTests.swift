import Foundation
import Testing
import Tensor
import GrainTestSupport

/// Parity with PyTorch for every op family: outputs and input gradients against
/// Fixtures/torch_ops.safetensors, written by Scripts/reference/tensor_fixtures.py (torch, float32,
/// CPU). Each case feeds the recorded `seed` to `backward` and compares every recorded gradient.
@Suite struct TorchParityTests {
    typealias Operation = @Sendable (_ inputs: [Tensor], _ integers: [[Int]]) -> Tensor

    static let operations: [String: Operation] = [
        "add": { x, _ in x[0] + x[1] }, "sub": { x, _ in x[0] - x[1] }, "mul": { x, _ in x[0] * x[1] },
        "div": { x, _ in x[0] / x[1] }, "pow": { x, _ in Tensor.pow(x[0], x[1]) }, "pow_scalar": { x, _ in x[0].pow(1.7) },
        "exp": { x, _ in x[0].exp() }, "log": { x, _ in x[0].log() }, "sqrt": { x, _ in x[0].sqrt() },
        "rsqrt": { x, _ in x[0].rsqrt() }, "abs": { x, _ in x[0].abs() }, "square": { x, _ in x[0].square() },
        "clamp": { x, _ in x[0].clamped(min: -0.7, max: 0.9) },
        "minimum": { x, _ in Tensor.minimum(x[0], x[1]) }, "maximum": { x, _ in Tensor.maximum(x[0], x[1]) },
        "where": { x, _ in Tensor.select(where: x[0], x[1], x[2]) },
        "relu": { x, _ in x[0].relu() }, "gelu": { x, _ in x[0].gelu() }, "gelu_tanh": { x, _ in x[0].geluTanh() },
        "quick_gelu": { x, _ in x[0].quickGelu() }, "silu": { x, _ in x[0].silu() }, "sigmoid": { x, _ in x[0].sigmoid() },
        "tanh": { x, _ in x[0].tanh() }, "hardtanh": { x, _ in x[0].hardtanh(min: -2, max: 2.5) },
        "softplus": { x, _ in x[0].softplus(beta: 2, threshold: 3) },
        "sum": { x, _ in x[0].sum(alongAxes: [0, 2]) },
        "mean": { x, _ in x[0].mean(alongAxes: [1], keepingDimensions: true) },
        "var": { x, _ in x[0].variance(alongAxes: [2]) },
        "var_population": { x, _ in x[0].variance(alongAxes: [0, 1], correction: 0) },
        "amax": { x, _ in x[0].max(alongAxes: [1]) },
        "amin": { x, _ in x[0].min(alongAxes: [0, 2], keepingDimensions: true) },
        "logsumexp": { x, _ in x[0].logSumExp(alongAxes: [2]) }, "norm": { x, _ in x[0].norm(alongAxes: [1]) },
        "permute": { x, _ in x[0].permuted([2, 0, 1]) },
        "pad": { x, _ in x[0].padded([(0, 0), (1, 2), (2, 0)], value: 0.5) },
        "flip": { x, _ in x[0].flipped(axes: [0, 2]) },
        "cat": { x, _ in Tensor.concatenate([x[0], x[1]], axis: 1) },
        "stack": { x, _ in Tensor.stack([x[0], x[1]], axis: 1) },
        "index_select": { x, i in x[0].indexSelected(axis: 1, indices: i[0]) },
        "matmul": { x, _ in Tensor.matmul(x[0], x[1]) }, "matmul_batched": { x, _ in Tensor.matmul(x[0], x[1]) },
        "matmul_transposed": { x, _ in Tensor.matmul(x[0], x[1], transposeA: true, transposeB: true) },
        "linear": { x, _ in Tensor.linear(x[0], weight: x[1], bias: x[2]) },
        "conv2d": { x, _ in Tensor.conv2d(x[0], weight: x[1], bias: x[2], stride: (2, 2), padding: (1, 1)) },
        "conv2d_groups_dilation": { x, _ in Tensor.conv2d(x[0], weight: x[1], padding: (2, 2), dilation: (2, 2), groups: 2) },
        "conv2d_depthwise": { x, _ in Tensor.conv2d(x[0], weight: x[1], bias: x[2], padding: (1, 1), groups: 3) },
        "conv2d_1x1": { x, _ in Tensor.conv2d(x[0], weight: x[1], bias: x[2]) },
        "conv_transpose2d": { x, _ in
            Tensor.convTranspose2d(x[0], weight: x[1], bias: x[2], stride: (2, 2), padding: (1, 1), outputPadding: (1, 1))
        },
        "avg_pool": { x, _ in Tensor.avgPool2d(x[0], kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) },
        "avg_pool_ceil_exclude": { x, _ in
            Tensor.avgPool2d(x[0], kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true, countIncludePadding: false)
        },
        "max_pool": { x, _ in Tensor.maxPool2d(x[0], kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) },
        "adaptive_avg_pool": { x, _ in Tensor.adaptiveAvgPool2d(x[0], outputSize: (3, 4)) },
        "upsample_nearest": { x, _ in Tensor.upsampleNearest2d(x[0], scaleFactor: 2) },
        "upsample_bilinear": { x, _ in Tensor.upsampleBilinear2d(x[0], size: (5, 7), alignCorners: false) },
        "upsample_bilinear_aligned": { x, _ in Tensor.upsampleBilinear2d(x[0], size: (5, 7), alignCorners: true) },
        "layer_norm": { x, _ in Tensor.layerNorm(x[0], normalizedShape: [3, 4, 4], weight: x[1], bias: x[2]) },
        "group_norm": { x, _ in Tensor.groupNorm(x[0], groups: 2, weight: x[1], bias: x[2]) },
        "softmax": { x, _ in x[0].softmax(alongAxis: 1) }, "log_softmax": { x, _ in x[0].logSoftmax(alongAxis: -1) },
        "attention": { x, _ in Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: x[3]) },
        "attention_causal": { x, _ in Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], isCausal: true) },
        "embedding": { x, i in Tensor.embedding(indices: i[0], indexShape: [2, 3], weight: x[0]) },
        "cross_entropy": { x, i in Tensor.crossEntropy(logits: x[0], targets: i[0], labelSmoothing: 0.1) },
        "nll": { x, i in Tensor.nllLoss(logProbabilities: x[0], targets: i[0], reduction: .sum) },
        "l1": { x, _ in Tensor.l1Loss(x[0], x[1]) }, "mse": { x, _ in Tensor.mseLoss(x[0], x[1], reduction: .sum) },
        "smooth_l1": { x, _ in Tensor.smoothL1Loss(x[0], x[1], beta: 0.5) },
        "bce_with_logits": { x, _ in Tensor.binaryCrossEntropyWithLogits(logits: x[0], targets: x[1]) },
    ]

    static let file: SafeTensors? = try? SafeTensors(contentsOf: URL(fileURLWithPath: fixturesDirectory() + "/torch_ops.safetensors"),
                                                        acceptingNonFiniteValues: true)  // attention masks hold -inf

    static var cases: [String] {
        (file?.keys ?? []).filter { $0.hasSuffix(".out") }.map { String($0.dropLast(4)) }.sorted()
    }

    @Test func everyFixtureCaseHasAnOperation() throws {
        let file = try #require(Self.file, "Fixtures/torch_ops.safetensors is missing or unreadable")
        #expect(Self.cases.count == Self.operations.count)
        for name in Self.cases { #expect(Self.operations[name] != nil, "no Swift operation for fixture case \(name)") }
        #expect(file.metadata["generator"] == "Scripts/reference/tensor_fixtures.py")
    }

    @Test(arguments: cases)
    func matchesPyTorch(_ name: String) throws {
        let file = try #require(Self.file)
        let operation = try #require(Self.operations[name], "no operation for \(name)")
        var inputs: [Tensor] = [], integers: [[Int]] = []
        while file.keys.contains("\(name).in\(inputs.count)") {
            let value = try file.tensor(named: "\(name).in\(inputs.count)")
            let differentiable = file.keys.contains("\(name).grad\(inputs.count)")
            inputs.append(differentiable ? value.requiringGradient() : value)
        }
        while file.keys.contains("\(name).int\(integers.count)") {
            integers.append(try file.tensor(named: "\(name).int\(integers.count)").scalars.map { Int($0) })
        }
        let output = operation(inputs, integers)
        let expected = try file.tensor(named: "\(name).out")
        // Element-wise 1e-5 relative, with a floor of 1e-6 of the tensor's largest magnitude.
        let scale = expected.scalars.reduce(Float(0)) { max($0, abs($1)) }
        expectClose(output.reshaped(expected.shape), expected, rtol: 1e-5, atol: 1e-6 * max(scale, 1), "\(name) output")
        guard inputs.contains(where: \.requiresGradient) else { return }
        output.backward(try file.tensor(named: "\(name).seed").reshaped(output.shape))
        for (index, input) in inputs.enumerated() where input.requiresGradient {
            let expectedGradient = try file.tensor(named: "\(name).grad\(index)")
            let gradient = try #require(input.gradient, "\(name): no gradient for input \(index)")
            let gradientScale = expectedGradient.scalars.reduce(Float(0)) { max($0, abs($1)) }
            expectClose(gradient, expectedGradient, rtol: 1e-5, atol: 1e-6 * max(gradientScale, 1), "\(name) gradient \(index)")
        }
    }
}
