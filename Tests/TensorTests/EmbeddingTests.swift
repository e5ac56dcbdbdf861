import Testing
import Tensor
import GrainTestSupport

// Embedding lookup and inverted dropout: values, masks and gradients.

@Suite struct EmbeddingTests {
    @Test func embeddingLooksUpRows() {
        let weight = Tensor(shape: [4, 2], scalars: [0, 1, 10, 11, 20, 21, 30, 31])
        let y = Tensor.embedding(indices: [3, 0, 3, 2, 1, 1], indexShape: [2, 3], weight: weight)
        #expect(y.shape == [2, 3, 2])
        #expect(y.scalars == [30, 31, 0, 1, 30, 31, 20, 21, 10, 11, 10, 11])
    }

    @Test func embeddingGradientScatterAdds() {
        let weight = randomTensor([5, 3], seed: 1)
        // Repeated indices accumulate; row 4 is never used and gets zero.
        expectGradients("embedding", [weight]) {
            Tensor.embedding(indices: [2, 0, 2, 3, 2, 1], indexShape: [3, 2], weight: $0[0])
        }
        let leaf = weight.requiringGradient()
        Tensor.embedding(indices: [2, 2, 0], indexShape: [3], weight: leaf).sum().backward()
        #expect(leaf.gradient?.scalars == [1, 1, 1, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0])
    }

    @Test func dropoutScalesKeptElements() {
        let x = randomTensor([100, 50], seed: 2, lower: 1, upper: 2)
        var generator = RandomGenerator(seed: 3)
        let y = x.dropout(probability: 0.3, using: &generator)
        var dropped = 0
        for (a, b) in zip(x.scalars, y.scalars) {
            if b == 0 { dropped += 1 } else { #expect(Swift.abs(b - a / 0.7) <= 1e-6 * b) }
        }
        // 5,000 draws at p = 0.3: the count is 1,500 ± 32 (one standard deviation).
        #expect(dropped > 1350 && dropped < 1650, "dropped \(dropped) of 5000")
        // The same seed gives the same mask.
        var again = RandomGenerator(seed: 3)
        #expect(x.dropout(probability: 0.3, using: &again).scalars == y.scalars)
        var g0 = RandomGenerator(seed: 4)
        #expect(x.dropout(probability: 0, using: &g0).scalars == x.scalars)
        #expect(x.dropout(probability: 1, using: &g0).scalars.allSatisfy { $0 == 0 })
    }

    @Test func dropoutGradientUsesTheMask() {
        let x = randomTensor([3, 7], seed: 5)
        // Each evaluation must draw the same mask: a fresh generator with a fixed seed.
        expectGradients("dropout", [x]) { xs in
            var generator = RandomGenerator(seed: 6)
            return xs[0].dropout(probability: 0.4, using: &generator)
        }
        let leaf = x.requiringGradient()
        var generator = RandomGenerator(seed: 6)
        let y = leaf.dropout(probability: 0.4, using: &generator)
        y.sum().backward()
        let expected = y.scalars.enumerated().map { i, v in v == 0 ? Float(0) : v / x.scalars[i] }
        expectClose(leaf.gradient!, Tensor(shape: [3, 7], scalars: expected), rtol: 1e-6, "dropout gradient is the mask")
        var g1 = RandomGenerator(seed: 7)
        expectGradients("dropout p = 1", [x]) { xs in xs[0].dropout(probability: 1, using: &g1) }
    }

    @Test func badIndexTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.embedding(indices: [0, 4], indexShape: [2], weight: Tensor.zeros([4, 2]))
        }
        let message = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(message.contains("index 4") && message.contains("vocabulary size 4"), "message: \(message)")
    }
}
