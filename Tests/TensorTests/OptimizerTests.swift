import Foundation
import Testing
import Tensor
import GrainTestSupport

// Optimizers, gradient clipping and learning-rate schedules, checked three ways: against the
// update formulas evaluated here by hand, against numbers printed by PyTorch, and by training a
// tiny linear regression.

// MARK: - The fixed problem

/// Two parameters and three steps of given gradients. The PyTorch numbers below come from this
/// script (PyTorch 2.15 CPU), with `make` replaced by the optimizer named in each comment:
///
/// ```python
/// import torch
/// def run(make):
///     w = torch.tensor([[0.5, -1.0], [1.5, 2.0]], requires_grad=True)
///     b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
///     opt = make([w, b])
///     grads = [([[0.2, -0.4], [1.0, 0.05]], [0.3, -0.1, 0.0]),
///              ([[-0.1, 0.3], [0.5, -0.2]], [0.2, 0.4, -0.6]),
///              ([[0.05, 0.1], [-0.3, 0.25]], [-0.5, 0.1, 0.2])]
///     for gw, gb in grads:
///         w.grad = torch.tensor(gw); b.grad = torch.tensor(gb)
///         opt.step()
///     return [float(x) for x in w.detach().flatten()] + [float(x) for x in b.detach()]
/// ```
private enum FixedProblem {
    static let weight: [Float] = [0.5, -1.0, 1.5, 2.0]
    static let bias: [Float] = [0.1, -0.2, 0.3]
    static let gradients: [(weight: [Float], bias: [Float])] = [
        ([0.2, -0.4, 1.0, 0.05], [0.3, -0.1, 0.0]),
        ([-0.1, 0.3, 0.5, -0.2], [0.2, 0.4, -0.6]),
        ([0.05, 0.1, -0.3, 0.25], [-0.5, 0.1, 0.2]),
    ]

    /// Runs the first `steps` steps through `backward()` and ``Optimizer/step(_:)``: the loss
    /// `Σ w·Gw + Σ b·Gb` has exactly the given gradients. Returns the parameters.
    static func run(_ optimizer: inout some Optimizer, steps: Int = 3,
                    from start: [String: Tensor]? = nil) -> [String: Tensor] {
        var parameters = start ?? [
            "layer.weight": Tensor(shape: [2, 2], scalars: weight).requiringGradient(),
            "layer.bias": Tensor(bias).requiringGradient(),
        ]
        for (gw, gb) in gradients.prefix(steps) {
            let loss = (parameters["layer.weight"]! * Tensor(shape: [2, 2], scalars: gw)).sum()
                + (parameters["layer.bias"]! * Tensor(gb)).sum()
            loss.backward()
            optimizer.step(&parameters)
        }
        return parameters
    }

    /// The weight then the bias, flattened, after three steps.
    static func values(_ optimizer: inout some Optimizer) -> [Float] {
        let parameters = run(&optimizer)
        return parameters["layer.weight"]!.scalars + parameters["layer.bias"]!.scalars
    }

    /// SGD by its formula, element-wise over the seven scalars, in double precision.
    static func handSGD(learningRate lr: Double, momentum: Double = 0, dampening: Double = 0,
                        weightDecay: Double = 0, nesterov: Bool = false) -> [Float] {
        var p = (weight + bias).map(Double.init)
        var buffer: [Double]? = nil
        for (gw, gb) in gradients {
            let g = (gw + gb).map(Double.init)
            var d = zip(g, p).map { $0 + weightDecay * $1 }
            if momentum != 0 {
                let b = buffer.map { zip($0, d).map { momentum * $0 + (1 - dampening) * $1 } } ?? d
                buffer = b
                d = nesterov ? zip(d, b).map { $0 + momentum * $1 } : b
            }
            p = zip(p, d).map { $0 - lr * $1 }
        }
        return p.map(Float.init)
    }

    /// Adam (or AdamW when `decoupled`) by its formula, element-wise, in double precision.
    static func handAdam(learningRate lr: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                         weightDecay: Double = 0, decoupled: Bool = false) -> [Float] {
        var p = (weight + bias).map(Double.init)
        var m = Array(repeating: 0.0, count: p.count), v = m
        for (t, (gw, gb)) in gradients.enumerated() {
            let step = Double(t + 1)
            let g = (gw + gb).map(Double.init)
            for i in p.indices {
                if decoupled { p[i] *= 1 - lr * weightDecay }
                let d = decoupled ? g[i] : g[i] + weightDecay * p[i]
                m[i] = beta1 * m[i] + (1 - beta1) * d
                v[i] = beta2 * v[i] + (1 - beta2) * d * d
                let mHat = m[i] / (1 - pow(beta1, step)), vHat = v[i] / (1 - pow(beta2, step))
                p[i] -= lr * mHat / (vHat.squareRoot() + epsilon)
            }
        }
        return p.map(Float.init)
    }
}

/// Expects two flat parameter lists to agree within `rtol·|expected| + atol`.
private func expectClose(_ actual: [Float], _ expected: [Float], rtol: Float = 2e-6, atol: Float = 1e-7, _ label: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    let (maxAbs, maxRel, ok) = closeness(actual, expected, rtol: rtol, atol: atol)
    print("[optimizer] \(label): max abs \(maxAbs), max rel \(maxRel)")
    #expect(ok, "\(label): \(actual) vs \(expected)", sourceLocation: sourceLocation)
}

@Suite struct OptimizerTests {
    // MARK: SGD, Adam and AdamW against hand formulas and PyTorch

    @Test func sgdMatchesFormulaAndPyTorch() {
        var plain = SGD(learningRate: 0.1)
        let plainValues = FixedProblem.values(&plain)
        expectClose(plainValues, FixedProblem.handSGD(learningRate: 0.1), "SGD vs formula")
        // torch.optim.SGD(p, lr=0.1)
        expectClose(plainValues, [0.48499998450279236, -1.0, 1.3799999952316284, 1.9900001287460327,
                                  0.10000000149011612, -0.24000000953674316, 0.3400000035762787], "SGD vs PyTorch")

        var momentum = SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01)
        let momentumValues = FixedProblem.values(&momentum)
        expectClose(momentumValues, FixedProblem.handSGD(learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
                    "SGD momentum vs formula")
        // torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)
        expectClose(momentumValues, [0.45580238103866577, -0.9466966986656189, 1.162908673286438, 1.987519383430481,
                                     0.02908719889819622, -0.24923864006996155, 0.38295668363571167], "SGD momentum vs PyTorch")

        var nesterov = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        let nesterovValues = FixedProblem.values(&nesterov)
        expectClose(nesterovValues, FixedProblem.handSGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true),
                    "SGD Nesterov vs formula")
        // torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
        expectClose(nesterovValues, [0.4449721574783325, -0.9550082683563232, 1.0667569637298584, 1.9734139442443848,
                                     0.037207432091236115, -0.2913614809513092, 0.4219729006290436], "SGD Nesterov vs PyTorch")
    }

    @Test func adamMatchesFormulaAndPyTorch() {
        var adam = Adam(learningRate: 0.1)
        let adamValues = FixedProblem.values(&adam)
        expectClose(adamValues, FixedProblem.handAdam(learningRate: 0.1), "Adam vs formula")
        // torch.optim.Adam(p, lr=0.1)
        expectClose(adamValues, [0.33932337164878845, -0.8968349695205688, 1.2537598609924316, 1.9341614246368408,
                                 -0.0890534445643425, -0.21304483711719513, 0.40877097845077515], "Adam vs PyTorch")

        var decayed = Adam(learningRate: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1)
        let decayedValues = FixedProblem.values(&decayed)
        expectClose(decayedValues, FixedProblem.handAdam(learningRate: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1),
                    "Adam L2 vs formula")
        // torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
        expectClose(decayedValues, [0.30513909459114075, -0.8541261553764343, 1.248829960823059, 1.7573602199554443,
                                    -0.07848728448152542, -0.21094386279582977, 0.2997453212738037], "Adam L2 vs PyTorch")
    }

    @Test func adamWMatchesFormulaAndPyTorch() {
        var adamW = AdamW(learningRate: 0.1, weightDecay: 0.1)
        let values = FixedProblem.values(&adamW)
        expectClose(values, FixedProblem.handAdam(learningRate: 0.1, weightDecay: 0.1, decoupled: true), "AdamW vs formula")
        // torch.optim.AdamW(p, lr=0.1, weight_decay=0.1)
        expectClose(values, [0.3267292082309723, -0.869213342666626, 1.2121305465698242, 1.876189947128296,
                             -0.08906319737434387, -0.20853513479232788, 0.39911651611328125], "AdamW vs PyTorch")
        #expect(AdamW().weightDecay == 1e-2 && Adam().weightDecay == 0 && Adam().learningRate == 1e-3)
    }

    // MARK: Parameter handling

    @Test func stepWritesFreshLeavesAndSkipsParametersWithoutGradient() {
        var parameters: [String: Tensor] = [
            "used": Tensor([1, 2]).requiringGradient(),
            "unused": Tensor([3, 4]).requiringGradient(),
            "frozen": Tensor([5, 6]),
        ]
        let loss = (parameters["used"]! * parameters["frozen"]!).sum()
        loss.backward()
        var optimizer = SGD(learningRate: 0.5)
        optimizer.step(&parameters)
        let used = parameters["used"]!, unused = parameters["unused"]!, frozen = parameters["frozen"]!
        #expect(used.scalars == [-1.5, -1])  // [1, 2] − 0.5·[5, 6]
        #expect(used.requiresGradient && used.gradient == nil)
        #expect(unused.scalars == [3, 4] && unused.requiresGradient)
        #expect(frozen.scalars == [5, 6] && !frozen.requiresGradient)
        // Explicit gradients override the leaves' (and the others stay untouched).
        optimizer.step(&parameters, gradients: ["unused": Tensor([1, -1])])
        #expect(parameters["unused"]!.scalars == [2.5, 4.5] && parameters["used"]!.scalars == used.scalars)
    }

    // MARK: State export and import

    @Test func stateRoundTripContinuesTraining() throws {
        func resumed<O: Optimizer>(_ make: () -> O, _ label: String, keys: [String]) throws {
            var straight = make()
            let expected = FixedProblem.run(&straight)
            var first = make()
            let halfway = FixedProblem.run(&first, steps: 2)
            let state = first.state
            #expect(Set(state.keys) == Set(keys), "\(label): \(state.keys.sorted())")
            var second = make()
            try second.load(state: state)
            // Continue with the third gradient only.
            var parameters = halfway
            let (gw, gb) = FixedProblem.gradients[2]
            let loss = (parameters["layer.weight"]! * Tensor(shape: [2, 2], scalars: gw)).sum()
                + (parameters["layer.bias"]! * Tensor(gb)).sum()
            loss.backward()
            second.step(&parameters)
            for name in ["layer.weight", "layer.bias"] {
                #expect(parameters[name]!.scalars == expected[name]!.scalars, "\(label): \(name) after resuming")
            }
        }
        try resumed({ SGD(learningRate: 0.1, momentum: 0.9) }, "SGD",
                    keys: ["layer.weight.momentum_buffer", "layer.bias.momentum_buffer"])
        let adamKeys = ["layer.weight.exp_avg", "layer.weight.exp_avg_sq", "layer.weight.step",
                        "layer.bias.exp_avg", "layer.bias.exp_avg_sq", "layer.bias.step"]
        try resumed({ Adam(learningRate: 0.1) }, "Adam", keys: adamKeys)
        try resumed({ AdamW(learningRate: 0.1) }, "AdamW", keys: adamKeys)
        var adam = Adam()
        _ = FixedProblem.run(&adam, steps: 2)
        #expect(adam.state["layer.weight.step"]!.item == 2)
        #expect(SGD(learningRate: 0.1).state.isEmpty)
    }

    @Test func loadRejectsMalformedState() {
        var adam = Adam()
        #expect(throws: OptimizerStateError.unexpectedKey("w.momentum_buffer")) {
            try adam.load(state: ["w.momentum_buffer": Tensor([1])])
        }
        #expect(throws: OptimizerStateError.missingKey("w.step")) {
            try adam.load(state: ["w.exp_avg": Tensor([1]), "w.exp_avg_sq": Tensor([1])])
        }
        #expect(throws: OptimizerStateError.shapeMismatch(key: "w.exp_avg_sq", expected: [1], actual: [2])) {
            try adam.load(state: ["w.exp_avg": Tensor([1]), "w.exp_avg_sq": Tensor([1, 2]), "w.step": Tensor(3)])
        }
        #expect(throws: OptimizerStateError.self) {
            try adam.load(state: ["w.exp_avg": Tensor([1]), "w.exp_avg_sq": Tensor([1]), "w.step": Tensor(1.5)])
        }
        var sgd = SGD(learningRate: 1, momentum: 0.5)
        #expect(throws: OptimizerStateError.unexpectedKey("w.exp_avg")) { try sgd.load(state: ["w.exp_avg": Tensor([1])]) }
        #expect(OptimizerStateError.missingKey("a.step").description.contains("\"a.step\""))
    }

    // MARK: Hyperparameter validation

    @Test func invalidHyperparametersStopTheProcess() async {
        await #expect(processExitsWith: .failure) { _ = SGD(learningRate: -1) }
        await #expect(processExitsWith: .failure) { _ = SGD(learningRate: 0.1, nesterov: true) }
        await #expect(processExitsWith: .failure) { _ = Adam(beta2: 1) }
        await #expect(processExitsWith: .failure) { _ = AdamW(epsilon: -1) }
    }

    // MARK: Gradient clipping

    @Test func clipGradientNormMatchesPyTorch() {
        let parameters: [String: Tensor] = {
            let w = Tensor(repeating: 0, shape: [2, 2]).requiringGradient(), b = Tensor(repeating: 0, shape: [3]).requiringGradient()
            let loss = (w * Tensor(shape: [2, 2], scalars: [3, -4, 1, 2])).sum() + (b * Tensor([0.5, -1.5, 2])).sum()
            loss.backward()
            return ["w": w, "b": b, "frozen": Tensor([7])]
        }()
        // w = torch.zeros(2, 2, requires_grad=True); b = torch.zeros(3, requires_grad=True)
        // w.grad = torch.tensor([[3.0, -4.0], [1.0, 2.0]]); b.grad = torch.tensor([0.5, -1.5, 2.0])
        // torch.nn.utils.clip_grad_norm_([w, b], max_norm=2.0)
        let (norm, clipped) = clipGradientNorm(parameters, maxNorm: 2)
        #expect(abs(norm - 6.041523456573486) < 1e-6)
        #expect(Set(clipped.keys) == ["w", "b"])
        expectClose(clipped["w"]!.scalars, [0.9931268692016602, -1.3241691589355469, 0.3310422897338867, 0.6620845794677734],
                    "clipped w vs PyTorch")
        expectClose(clipped["b"]!.scalars, [0.16552114486694336, -0.4965634346008301, 0.6620845794677734], "clipped b vs PyTorch")
        // Below the threshold nothing changes.
        let (same, unclipped) = clipGradientNorm(parameters, maxNorm: 10)
        #expect(same == norm && unclipped["w"]!.scalars == [3, -4, 1, 2])
        // A long gradient exercises the SIMD path: ‖(1, …, 1)‖ over 1000 elements is √1000.
        let (long, _) = clipGradientNorm(gradients: ["x": Tensor(repeating: 1, shape: [1000])], maxNorm: 1)
        #expect(abs(long - Float(1000).squareRoot()) < 1e-4)
    }

    // MARK: Learning-rate schedules

    @Test func schedulesMatchPyTorch() {
        // p = torch.zeros(1, requires_grad=True); opt = torch.optim.SGD([p], lr=0.1)
        // s = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        // lrs = []; for _ in range(8): lrs.append(opt.param_groups[0]["lr"]); opt.step(); s.step()
        let stepExpected: [Float] = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]
        let step = StepLearningRate(initial: 0.1, stepSize: 3, gamma: 0.5)
        expectClose((0..<8).map { step.learningRate(atStep: $0) }, stepExpected, "StepLR")
        // Same loop for 12 steps with
        // s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)
        let cosineExpected: [Float] = [0.1, 0.09140576474687263, 0.06890576474687263, 0.04109423525312736,
                                       0.018594235253127367, 0.01, 0.018594235253127367, 0.04109423525312739,
                                       0.06890576474687267, 0.09140576474687269, 0.10000000000000006, 0.09140576474687272]
        let cosine = CosineAnnealingLearningRate(initial: 0.1, totalSteps: 5, minimum: 0.01)
        expectClose((0..<12).map { cosine.learningRate(atStep: $0) }, cosineExpected, "CosineAnnealingLR")
        #expect(ConstantLearningRate(0.3).learningRate(atStep: 1000) == 0.3)
        #expect(abs(StepLearningRate(initial: 1, stepSize: 2).learningRate(atStep: 4) - 0.01) < 1e-8)
        #expect(CosineAnnealingLearningRate(initial: 1, totalSteps: 10).learningRate(atStep: 10) == 0)
    }

    // MARK: Training a linear regression

    @Test func everyOptimizerFitsALinearRegression() {
        var generator = RandomGenerator(seed: 11)
        let x = Tensor.randomNormal([32, 3], using: &generator)
        let trueWeight = Tensor(shape: [1, 3], scalars: [1.5, -2, 0.5])
        let y = Tensor.linear(x, weight: trueWeight, bias: Tensor([0.3]))
        func loss(_ parameters: [String: Tensor]) -> Tensor {
            (Tensor.linear(x, weight: parameters["linear.weight"]!, bias: parameters["linear.bias"]!) - y).square().mean()
        }
        let optimizers: [(String, any Optimizer, clip: Float?, schedule: (any LearningRateSchedule)?)] = [
            ("SGD", SGD(learningRate: 0.1), nil, nil),
            ("SGD momentum", SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4), nil, StepLearningRate(initial: 0.05, stepSize: 50)),
            ("SGD Nesterov", SGD(learningRate: 0.05, momentum: 0.9, nesterov: true), 1, nil),
            ("Adam", Adam(learningRate: 0.05), nil, nil),
            ("AdamW", AdamW(learningRate: 0.05), 1, CosineAnnealingLearningRate(initial: 0.05, totalSteps: 100, minimum: 0.005)),
        ]
        for (label, start, clip, schedule) in optimizers {
            var optimizer = start
            var parameters: [String: Tensor] = [
                "linear.weight": Tensor(repeating: 0, shape: [1, 3]).requiringGradient(),
                "linear.bias": Tensor(repeating: 0, shape: [1]).requiringGradient(),
            ]
            let initial = Tensor.withoutGradient { loss(parameters).item }
            for iteration in 0..<100 {
                if let schedule { optimizer.learningRate = schedule.learningRate(atStep: iteration) }
                loss(parameters).backward()
                if let clip {
                    optimizer.step(&parameters, gradients: clipGradientNorm(parameters, maxNorm: clip).gradients)
                } else {
                    optimizer.step(&parameters)
                }
            }
            let final = Tensor.withoutGradient { loss(parameters).item }
            print("[optimizer] \(label): loss \(initial) → \(final)")
            #expect(final < 0.05 * initial, "\(label): loss \(initial) → \(final)")
        }
    }
}
