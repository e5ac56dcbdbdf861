import Testing
import Tensor
import GrainTestSupport

// Softmax, log-softmax and chunked scaled dot-product attention: hand-checkable values, fused
// kernels against the composed references, and finite-difference gradients.

@Suite struct SoftmaxAttentionTests {
    @Test func softmaxValues() {
        let x = Tensor([1, 2, 3])
        expectClose(x.softmax(), Tensor([0.09003057, 0.24472847, 0.66524096]), "softmax [1, 2, 3]")
        expectClose(x.logSoftmax(), Tensor([-2.40760596, -1.40760596, -0.40760596]), "logSoftmax [1, 2, 3]")
        // Stable for large arguments; -inf entries get probability 0.
        expectClose(Tensor([1000, 1001]).softmax(), Tensor([0.26894142, 0.73105858]), "softmax large")
        expectClose(Tensor([0, -.infinity, 0]).softmax(), Tensor([0.5, 0, 0.5]), "softmax -inf")
        #expect(Tensor([-.infinity, -.infinity]).softmax().scalars.allSatisfy { $0.isNaN }, "all -inf gives NaN, as PyTorch")
        expectClose(Tensor(shape: [2, 1], scalars: [3, -4]).softmax(alongAxis: 0).logSoftmax(alongAxis: 1),
                    Tensor(shape: [2, 1], scalars: [0, 0]), "single-element axis")
    }

    @Test func fusedMatchesReference() {
        // Rows of 37 (SIMD blocks plus a tail); inner extents 1, 5 and 300 (two column blocks).
        let x = randomTensor([2, 37, 5], seed: 1, lower: -20, upper: 20)
        for axis in [-1, 0, 1] {
            expectClose(x.softmax(alongAxis: axis), Tensor.referenceSoftmax(x, alongAxis: axis),
                        rtol: 2e-6, atol: 1e-7, "softmax axis \(axis)")
            expectClose(x.logSoftmax(alongAxis: axis), Tensor.referenceLogSoftmax(x, alongAxis: axis),
                        rtol: 2e-6, atol: 2e-6, "logSoftmax axis \(axis)")
        }
        let wide = randomTensor([2, 3, 300], seed: 2, lower: -5, upper: 5)
        expectClose(wide.softmax(alongAxis: 1), Tensor.referenceSoftmax(wide, alongAxis: 1), rtol: 2e-6, atol: 1e-7, "softmax wide")
        expectClose(wide.logSoftmax(alongAxis: 1), Tensor.referenceLogSoftmax(wide, alongAxis: 1), rtol: 2e-6, atol: 2e-6, "logSoftmax wide")
        // Backward against the composed references.
        let seed = randomTensor([2, 3, 300], seed: 3)
        for axis in [1, 2] {
            let fused = gradientsOfWeightedSum([wide], seed) { $0[0].softmax(alongAxis: axis) }[0]
            let naive = gradientsOfWeightedSum([wide], seed) { Tensor.referenceSoftmax($0[0], alongAxis: axis) }[0]
            expectClose(fused, naive, rtol: 1e-4, atol: 1e-6, "softmax backward axis \(axis)")
            let fusedLog = gradientsOfWeightedSum([wide], seed) { $0[0].logSoftmax(alongAxis: axis) }[0]
            let naiveLog = gradientsOfWeightedSum([wide], seed) { Tensor.referenceLogSoftmax($0[0], alongAxis: axis) }[0]
            expectClose(fusedLog, naiveLog, rtol: 1e-4, atol: 1e-5, "logSoftmax backward axis \(axis)")
        }
    }

    @Test func softmaxGradients() {
        let x = randomTensor([3, 4, 5], seed: 4, lower: -2, upper: 2)
        for axis in [-1, 1, 0] {
            expectGradients("softmax axis \(axis)", [x]) { $0[0].softmax(alongAxis: axis) }
            expectGradients("logSoftmax axis \(axis)", [x]) { $0[0].logSoftmax(alongAxis: axis) }
        }
        // Rows of 20: one SIMD16 block plus a tail.
        let long = randomTensor([2, 20], seed: 5, lower: -2, upper: 2)
        expectGradients("softmax long row", [long]) { $0[0].softmax() }
        expectGradients("logSoftmax long row", [long]) { $0[0].logSoftmax() }
    }

    @Test func attentionHandValues() {
        // Scores [0, ln 3] give weights [¼, ¾]: 0.25·4 + 0.75·8 = 7.
        let q = Tensor(shape: [1, 1], scalars: [1])
        let k = Tensor(shape: [2, 1], scalars: [0, Float(1.0986122886681098)])
        let v = Tensor(shape: [2, 1], scalars: [4, 8])
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v), Tensor(shape: [1, 1], scalars: [7]),
                    "attention hand value")
        // Causal, top-left aligned as PyTorch: query 0 sees key 0 only, query 1 keys 0 and 1.
        let query = randomTensor([2, 3], seed: 6), key = randomTensor([4, 3], seed: 7), value = randomTensor([4, 2], seed: 8)
        let causal = Tensor.scaledDotProductAttention(query: query, key: key, value: value, isCausal: true)
        expectClose(causal.sliced(axis: 0, end: 1), value.sliced(axis: 0, end: 1), "causal row 0")
        let visible = Tensor.scaledDotProductAttention(query: query.sliced(axis: 0, start: 1), key: key.sliced(axis: 0, end: 2),
                                                       value: value.sliced(axis: 0, end: 2))
        expectClose(causal.sliced(axis: 0, start: 1), visible, "causal row 1")
    }

    @Test func chunkedMatchesNaive() {
        let q = randomTensor([2, 3, 7, 5], seed: 10, lower: -2, upper: 2)
        let k = randomTensor([2, 3, 6, 5], seed: 11, lower: -2, upper: 2)
        let v = randomTensor([2, 3, 6, 4], seed: 12)
        let masks: [Tensor?] = [nil, randomTensor([7, 6], seed: 13), randomTensor([2, 1, 7, 6], seed: 14),
                                randomTensor([6], seed: 15)]
        let seed = randomTensor([2, 3, 7, 4], seed: 16)
        for (m, mask) in masks.enumerated() {
            for isCausal in mask == nil ? [false, true] : [false] {
                let naive = Tensor.referenceScaledDotProductAttention(query: q, key: k, value: v, mask: mask, isCausal: isCausal)
                let naiveGrads = gradientsOfWeightedSum([q, k, v] + (mask.map { [$0] } ?? []), seed) { xs in
                    Tensor.referenceScaledDotProductAttention(query: xs[0], key: xs[1], value: xs[2],
                                                              mask: xs.count > 3 ? xs[3] : nil, isCausal: isCausal)
                }
                for chunk in [1, 3, 4, 7, 1024] {
                    let label = "mask \(m) causal \(isCausal) chunk \(chunk)"
                    expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, isCausal: isCausal,
                                                                 queryChunkSize: chunk),
                                naive, rtol: 1e-5, atol: 1e-6, label)
                    let fusedGrads = gradientsOfWeightedSum([q, k, v] + (mask.map { [$0] } ?? []), seed) { xs in
                        Tensor.scaledDotProductAttention(query: xs[0], key: xs[1], value: xs[2], mask: xs.count > 3 ? xs[3] : nil,
                                                         isCausal: isCausal, queryChunkSize: chunk)
                    }
                    for (i, name) in ["query", "key", "value", "mask"].prefix(naiveGrads.count).enumerated() {
                        expectClose(fusedGrads[i], naiveGrads[i], rtol: 1e-4, atol: 1e-5, "\(label) d\(name)")
                    }
                }
            }
        }
        // More queries than keys under the causal mask, and a custom scale.
        let q2 = randomTensor([9, 3], seed: 17), k2 = randomTensor([4, 3], seed: 18), v2 = randomTensor([4, 2], seed: 19)
        expectClose(Tensor.scaledDotProductAttention(query: q2, key: k2, value: v2, isCausal: true, scale: 0.7, queryChunkSize: 2),
                    Tensor.referenceScaledDotProductAttention(query: q2, key: k2, value: v2, isCausal: true, scale: 0.7),
                    rtol: 1e-5, atol: 1e-6, "causal L > S")
    }

    @Test func attentionGradients() {
        let q = randomTensor([2, 5, 3], seed: 20, lower: -2, upper: 2)
        let k = randomTensor([2, 4, 3], seed: 21, lower: -2, upper: 2)
        let v = randomTensor([2, 4, 2], seed: 22)
        expectGradients("attention", [q, k, v]) {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], queryChunkSize: 2)
        }
        expectGradients("attention causal", [q, k, v]) {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], isCausal: true, queryChunkSize: 3)
        }
        expectGradients("attention mask", [q, k, v, randomTensor([5, 4], seed: 23)]) {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: $0[3], scale: 0.8, queryChunkSize: 2)
        }
    }

    @Test func fullyMaskedRowGivesZeros() {
        var mask = Tensor.zeros([3, 4])
        mask.withUnsafeMutableBufferPointer { p in for j in 0..<4 { p[4 + j] = -.infinity }; p[0] = -.infinity }
        let q = randomTensor([3, 2], seed: 30), k = randomTensor([4, 2], seed: 31)
        let v = randomTensor([4, 3], seed: 32).requiringGradient()
        let out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, queryChunkSize: 2)
        expectClose(out.sliced(axis: 0, start: 1, end: 2), Tensor.zeros([1, 3]), "masked row is zero")
        expectClose(out.sliced(axis: 0, end: 1),
                    Tensor.referenceScaledDotProductAttention(query: q.sliced(axis: 0, end: 1), key: k, value: v,
                                                              mask: mask.sliced(axis: 0, end: 1)),
                    rtol: 1e-5, atol: 1e-6, "partly masked row")
        out.sum().backward()
        #expect(v.gradient?.isFinite == true, "gradient finite with a fully masked row")
    }
}
