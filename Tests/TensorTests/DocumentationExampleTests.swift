import Testing
import Tensor

/// The code blocks of Tensor.docc, compiled and run so the documentation cannot drift from the API.
@Suite struct TensorDocumentationExampleTests {
    @Test func overviewExample() {
        var generator = RandomGenerator(seed: 42)
        let w = Tensor.randomNormal([3, 4], using: &generator).requiringGradient()
        let x = Tensor.randomNormal([8, 4], using: &generator)
        let loss = Tensor.linear(x, weight: w).square().mean()
        loss.backward()
        #expect(w.gradient!.shape == [3, 4])
    }
}
