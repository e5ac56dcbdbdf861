import Testing
import Tensor
import GrainTestSupport
import NN

/// Finite-difference gradient tests and properties of the extractor's forensic blocks.
@Suite struct ForensicBlockTests {
    @Test func covariancePoolingMatchesDefinitionAndDifferentiates() {
        let x = randomTensor([2, 3, 2, 2], seed: 1)
        let sigma = CovariancePooling()(x)
        // Definition: Σ = X Î Xᵀ with Î = (1/M)(I − (1/M)𝟙𝟙ᵀ).
        let m: Float = 4
        let iHat = (Tensor.eye(4) - Tensor.ones([4, 4]) / m) / m
        let flat = x.reshaped([2, 3, 4])
        let expected = Tensor.matmul(Tensor.matmul(flat, iHat), flat, transposeB: true)
        expectClose(sigma, expected, rtol: 1e-5, atol: 1e-6, "covariance pooling vs X Î Xᵀ")
        expectGradients("covariance pooling", [x]) { CovariancePooling()($0[0]) }
    }

    @Test func newtonSchulzApproachesTheSquareRoot() {
        // A well-conditioned SPD matrix: its root squared returns it.
        let b = randomTensor([1, 4, 4], seed: 2)
        let spd = Tensor.matmul(b, b, transposeB: true) + Tensor.eye(4) * 2
        let root = NewtonSchulzSquareRoot(iterations: 12)(spd)
        expectClose(Tensor.matmul(root, root), spd, rtol: 1e-3, atol: 1e-4, "Newton–Schulz root²")
        expectGradients("Newton–Schulz (5 iterations)", [spd]) { NewtonSchulzSquareRoot(iterations: 5)($0[0]) }
    }

    @Test func upperTriangleOrderAndGradient() {
        let x = Tensor(shape: [1, 3, 3], scalars: (0..<9).map(Float.init))
        #expect(UpperTriangle()(x).scalars == [0, 1, 2, 4, 5, 8])
        #expect(UpperTriangle.indices(order: 32).count == 528)
        expectGradients("upper triangle", [randomTensor([2, 3, 3], seed: 3)]) { UpperTriangle()($0[0]) }
    }

    @Test func highPassBankIsChannelMajorAndFrozen() {
        let bank = HighPassFilterBank()
        #expect(bank.namedParameters().map(\.key) == ["hpf.weight"])
        #expect(bank.namedParameters().allSatisfy { !$0.parameter.isTrainable })
        // Filter 0 is x(−1,−1) − x(0,0); on channel 1 of a ramp it gives a constant inside.
        let ramp = Tensor(shape: [1, 2, 6, 6], scalars: (0..<72).map { Float($0 % 36) * (($0 / 36) == 1 ? 1 : 0) })
        let y = bank(ramp)
        #expect(y.shape == [1, 60, 6, 6])
        #expect(y[index: [0, 30, 3, 3]] == -7)  // channel 1, filter 0: x[2,2] − x[3,3] = 14 − 21
        #expect(y[index: [0, 0, 3, 3]] == 0)    // channel 0 is zero
        expectGradients("SRM bank (input)", [randomTensor([1, 2, 5, 5], seed: 4)]) { bank($0[0]) }
    }

    @Test func srmFiltersHaveZeroSumAndUnitCentre() {
        let kernels = SRMFilters.kernels()
        #expect(kernels.count == 30)
        for (i, k) in kernels.enumerated() {
            #expect(abs(k.reduce(0, +)) < 1e-12, "filter \(i) sums to \(k.reduce(0, +))")
            #expect(k[12] == -1, "filter \(i) centre \(k[12])")
        }
    }
}
