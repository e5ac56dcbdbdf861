import Foundation
import Testing
@testable import Tensor
import GrainTestSupport

/// The fused group norm + SiLU against the composition it replaces, and its vectorised exponential.
@Suite struct GroupNormSiLUTests {
    @Test(arguments: [([2, 8, 5, 7], 4, true), ([1, 6, 33], 3, false), ([3, 4], 2, true), ([1, 32, 16, 16], 8, true)])
    func matchesGroupNormThenSiLU(shape: [Int], groups: Int, affine: Bool) {
        let x = randomTensor(shape, seed: 1, lower: -3, upper: 4)
        let w = affine ? randomTensor([shape[1]], seed: 2, lower: 0.5, upper: 1.5) : nil
        let b = affine ? randomTensor([shape[1]], seed: 3) : nil
        let fused = Tensor.groupNormSiLU(x, groups: groups, weight: w, bias: b, epsilon: 1e-6)
        let composed = Tensor.groupNorm(x, groups: groups, weight: w, bias: b, epsilon: 1e-6).silu()
        expectClose(fused, composed, rtol: 1e-6, atol: 1e-6, "groupNormSiLU \(shape)")
    }

    @Test func isDifferentiableThroughTheComposition() {
        let x = randomTensor([2, 4, 3, 3], seed: 4), w = randomTensor([4], seed: 5, lower: 0.5, upper: 1.5)
        let b = randomTensor([4], seed: 6)
        expectGradients("groupNormSiLU", [x, w, b]) { Tensor.groupNormSiLU($0[0], groups: 2, weight: $0[1], bias: $0[2]) }
    }

    @Test func exponentialIsWithinTwoUlps() {
        var worst: Float = 0
        var v = -87.0
        while v < 88 {
            let lanes = SIMD16<Float>((0..<16).map { Float(v + Double($0) * 0.0137) })
            let e = Tensor.exponential16(lanes)
            for i in 0..<16 {
                let exact = Foundation.exp(Double(lanes[i]))
                worst = max(worst, Float(abs(Double(e[i]) - exact) / exact))
            }
            v += 0.219
        }
        print("[exp16] worst relative error \(worst)")
        #expect(worst < 2.5e-7)
        let extremes = Tensor.exponential16(SIMD16<Float>(repeating: -1000))
        #expect(extremes[0] > 0 && extremes[0].isFinite)
        #expect(Tensor.exponential16(SIMD16<Float>(repeating: 1000))[0].isFinite)
    }
}
