import Testing
import Tensor
import GrainTestSupport

// Losses: values from PyTorch, the fused cross-entropy against a composed reference, and
// finite-difference gradients for every reduction.

@Suite struct LossTests {
    let logits = Tensor(shape: [2, 3], scalars: [1, 2, 3, 0, 0, 0])
    let a = Tensor([0.5, -1, 2, 3])
    let t = Tensor([0, 0, 2.5, 0])

    @Test func crossEntropyMatchesPyTorch() {
        // torch.nn.functional.cross_entropy(logits, [2, 1], …)
        expectClose(Tensor.crossEntropy(logits: logits, targets: [2, 1]), Tensor(0.75310910), "crossEntropy mean")
        expectClose(Tensor.crossEntropy(logits: logits, targets: [2, 1], labelSmoothing: 0.1), Tensor(0.80310905),
                    "crossEntropy smoothing 0.1")
        expectClose(Tensor.crossEntropy(logits: logits, targets: [2, 1], reduction: .none, labelSmoothing: 0.2),
                    Tensor([0.60760593, 1.09861231]), "crossEntropy none smoothing 0.2")
        // Uniform logits over two classes: ln 2 each.
        expectClose(Tensor.crossEntropy(logits: Tensor.zeros([3, 2]), targets: [0, 1, 1], reduction: .sum),
                    Tensor(3 * 0.69314718), "crossEntropy sum")
    }

    @Test func crossEntropyMatchesReference() {
        // 40 classes: SIMD blocks plus a tail; wide logits test the stable log-sum-exp.
        let x = randomTensor([6, 40], seed: 1, lower: -30, upper: 30)
        let targets = [0, 39, 7, 7, 22, 13]
        let onehot = Tensor(shape: [6, 40], scalars: (0..<240).map { targets[$0 / 40] == $0 % 40 ? 1 : 0 })
        for smoothing: Float in [0, 0.25] {
            let q = onehot * (1 - smoothing) + smoothing / 40
            let reference: ([Tensor]) -> Tensor = { xs in -(Tensor.referenceLogSoftmax(xs[0]) * q).sum(alongAxes: [1]) }
            expectClose(Tensor.crossEntropy(logits: x, targets: targets, reduction: .none, labelSmoothing: smoothing),
                        reference([x]), rtol: 1e-5, atol: 1e-5, "crossEntropy vs reference, ε \(smoothing)")
            let seed = randomTensor([6], seed: 2)
            let fused = gradientsOfWeightedSum([x], seed) { Tensor.crossEntropy(logits: $0[0], targets: targets, reduction: .none, labelSmoothing: smoothing) }[0]
            expectClose(fused, gradientsOfWeightedSum([x], seed, reference)[0], rtol: 1e-4, atol: 1e-6, "crossEntropy backward, ε \(smoothing)")
        }
    }

    @Test func crossEntropyGradients() {
        let x = randomTensor([4, 5], seed: 3, lower: -2, upper: 2)
        for reduction in [Reduction.none, .mean, .sum] {
            expectGradients("crossEntropy \(reduction)", [x]) {
                Tensor.crossEntropy(logits: $0[0], targets: [4, 0, 2, 2], reduction: reduction)
            }
            expectGradients("crossEntropy smoothed \(reduction)", [x]) {
                Tensor.crossEntropy(logits: $0[0], targets: [1, 3, 0, 4], reduction: reduction, labelSmoothing: 0.3)
            }
            expectGradients("nllLoss \(reduction)", [x]) {
                Tensor.nllLoss(logProbabilities: $0[0].logSoftmax(), targets: [4, 0, 2, 2], reduction: reduction)
            }
        }
    }

    @Test func nllLossValues() {
        let lp = Tensor(shape: [2, 3], scalars: [-1, -2, -3, -0.5, -1.5, -2.5])
        expectClose(Tensor.nllLoss(logProbabilities: lp, targets: [2, 0]), Tensor(1.75), "nllLoss mean")
        expectClose(Tensor.nllLoss(logProbabilities: lp, targets: [2, 0], reduction: .none), Tensor([3, 0.5]), "nllLoss none")
        // nll(logSoftmax) is cross-entropy.
        expectClose(Tensor.nllLoss(logProbabilities: logits.logSoftmax(), targets: [2, 1], reduction: .sum),
                    Tensor.crossEntropy(logits: logits, targets: [2, 1], reduction: .sum), rtol: 1e-6, "nll of logSoftmax")
    }

    @Test func regressionLossesMatchPyTorch() {
        expectClose(Tensor.l1Loss(a, t), Tensor(1.25), "l1Loss")
        expectClose(Tensor.mseLoss(a, t), Tensor(2.625), "mseLoss")
        expectClose(Tensor.mseLoss(a, t, reduction: .sum), Tensor(10.5), "mseLoss sum")
        expectClose(Tensor.smoothL1Loss(a, t), Tensor(0.8125), "smoothL1Loss")
        expectClose(Tensor.smoothL1Loss(a, t, reduction: .none, beta: 0.5), Tensor([0.25, 0.75, 0.25, 2.75]), "smoothL1Loss β 0.5")
        expectClose(Tensor.smoothL1Loss(a, t, reduction: .sum, beta: 0), Tensor(5), "smoothL1Loss β 0 is L1")
        let bt = Tensor([1, 0, 0.5, 1])
        expectClose(Tensor.binaryCrossEntropyWithLogits(logits: a, targets: bt), Tensor(0.49071351), "bce with logits")
        // Stable for large logits: log(1 + e^{-100}) does not overflow.
        expectClose(Tensor.binaryCrossEntropyWithLogits(logits: Tensor([100, -100]), targets: Tensor([0, 1]), reduction: .none),
                    Tensor([100, 100]), "bce with logits, large")
    }

    @Test func regressionLossGradients() {
        // Differences kept away from 0 and from ±β, where L1 and smooth L1 have kinks.
        let x = Tensor(shape: [2, 3], scalars: [0.3, -1.2, 2.0, 0.9, -0.4, 1.6])
        let y = Tensor(shape: [2, 3], scalars: [0.0, 0.1, 0.5, 1.5, -1.9, 1.2])
        let probabilities = Tensor(shape: [2, 3], scalars: [0.1, 0.9, 0.5, 1, 0, 0.3])
        for reduction in [Reduction.none, .mean, .sum] {
            expectGradients("l1Loss \(reduction)", [x, y]) { Tensor.l1Loss($0[0], $0[1], reduction: reduction) }
            expectGradients("mseLoss \(reduction)", [x, y]) { Tensor.mseLoss($0[0], $0[1], reduction: reduction) }
            expectGradients("smoothL1Loss \(reduction)", [x, y]) { Tensor.smoothL1Loss($0[0], $0[1], reduction: reduction) }
            expectGradients("smoothL1Loss β 0.5 \(reduction)", [x, y]) {
                Tensor.smoothL1Loss($0[0], $0[1], reduction: reduction, beta: 0.5)
            }
            expectGradients("bce with logits \(reduction)", [x, probabilities]) {
                Tensor.binaryCrossEntropyWithLogits(logits: $0[0], targets: $0[1], reduction: reduction)
            }
        }
    }

    @Test func largeMeanIsAccurate() {
        // 100,000 elements: the sum runs on both cores and is accumulated in Double.
        let x = randomTensor([100, 1000], seed: 5), y = randomTensor([100, 1000], seed: 6)
        let loss = Tensor.mseLoss(x, y).item
        let expected = zip(x.scalars, y.scalars).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / 100_000
        #expect(Swift.abs(Double(loss) - expected) <= 1e-6 * expected, "mse \(loss) vs \(expected)")
    }

    @Test func outOfRangeTargetTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.crossEntropy(logits: Tensor.zeros([2, 3]), targets: [0, 3])
        }
        let message = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(message.contains("target class 3") && message.contains("3 classes"), "message: \(message)")
        await #expect(processExitsWith: .failure) {
            _ = Tensor.nllLoss(logProbabilities: Tensor.zeros([2, 3]), targets: [-1, 0])
        }
    }
}
