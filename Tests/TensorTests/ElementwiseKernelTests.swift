import Foundation
import Testing
@testable import Tensor
import GrainTestSupport

// The vectorised element-wise kernels against plain references: broadcasting arithmetic against
// an index-by-index loop, and the fast GELU against a Double-precision evaluation.

@Suite struct ElementwiseKernelTests {
    /// `f` over the broadcast of `a` and `b`, one multi-index at a time.
    func naiveBroadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> [Float] {
        let shape = Shape.broadcast(a.shape, b.shape, op: "test")
        let sa = Shape.broadcastStrides(a.shape, to: shape), sb = Shape.broadcastStrides(b.shape, to: shape)
        let xa = a.scalars, xb = b.scalars
        var out: [Float] = []
        for flat in 0..<Shape.count(shape) {
            var rem = flat, ia = 0, ib = 0
            for d in stride(from: shape.count - 1, through: 0, by: -1) {
                let i = rem % shape[d]; rem /= shape[d]
                ia += i * sa[d]; ib += i * sb[d]
            }
            out.append(f(xa[ia], xb[ib]))
        }
        return out
    }

    @Test(arguments: [
        ([2, 3, 4, 5], [3, 1, 1]),     // per-channel bias: rows of H·W against a scalar
        ([2, 3, 4, 5], [5]),           // trailing vector
        ([2, 1, 4, 1], [3, 1, 5]),     // both sides broadcast
        ([4, 1], [1, 5]),              // outer product
        ([3, 1, 5], [3, 4, 5]),        // left side broadcast in the middle
        ([1], [2, 3]),
        ([2, 3], []),
        ([0, 3], [3]),                 // empty
        ([8, 64, 128], [64, 1]),       // large enough to split across cores
        ([8, 64, 128], [8, 1, 128]),
        ([5, 7, 9], [5, 7, 9]),
    ])
    func broadcastArithmeticMatchesNaiveLoop(shapeA: [Int], shapeB: [Int]) {
        let a = randomTensor(shapeA, seed: 1), b = randomTensor(shapeB, seed: 2, lower: 0.5, upper: 2)
        let shape = Shape.broadcast(shapeA, shapeB, op: "test")
        for (name, op, f) in [("add", { $0 + $1 }, { $0 + $1 }), ("subtract", { $0 - $1 }, { $0 - $1 }),
                              ("multiply", { $0 * $1 }, { $0 * $1 }), ("divide", { $0 / $1 }, { $0 / $1 })]
            as [(String, (Tensor, Tensor) -> Tensor, (Float, Float) -> Float)] {
            let forward = op(a, b), backward = op(b, a)
            #expect(forward.shape == shape, "\(name) \(shapeA) \(shapeB)")
            #expect(forward.scalars == naiveBroadcast(a, b, f), "\(name) \(shapeA) \(shapeB)")
            #expect(backward.scalars == naiveBroadcast(b, a, f), "\(name) \(shapeB) \(shapeA)")
        }
        #expect(Tensor.broadcastMap(a, b, op: "test") { $0 * 2 - $1 }.scalars == naiveBroadcast(a, b) { $0 * 2 - $1 })
    }

    @Test func scalarOperandsMatchPerElementFormulas() {
        let x = randomTensor([3, 50_000], seed: 3, lower: 0.5, upper: 2)
        let xs = x.scalars
        #expect((x + 1.5).scalars == xs.map { $0 + 1.5 })
        #expect((1.5 - x).scalars == xs.map { 1.5 - $0 })
        #expect((x * 1.5).scalars == xs.map { $0 * 1.5 })
        #expect((x / 1.5).scalars == xs.map { $0 / 1.5 })
        #expect((1.5 / x).scalars == xs.map { 1.5 / $0 })
        #expect((-x).scalars == xs.map { -$0 })
    }

    /// GELU and its derivative `Φ(x) + x·φ(x)` in Double precision, with the derivative's scale
    /// `Φ(x) + |x|·φ(x)` (the derivative crosses 0 near x = −0.75, where only an absolute bound
    /// relative to its terms makes sense).
    func exactGelu(_ x: Float) -> (value: Double, derivative: Double, derivativeScale: Double) {
        let v = Double(x)
        let cdf = 0.5 * Foundation.erfc(-v / 2.0.squareRoot())
        let pdf = Foundation.exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
        return (v * cdf, cdf + v * pdf, cdf + Swift.abs(v) * pdf)
    }

    /// Arguments across the whole range, including every count of tail lanes.
    var geluArguments: [Float] {
        var xs = (0...26_003).map { Float(-13) + Float($0) * 0.001 }
        xs += randomTensor([1003], seed: 5, lower: -6, upper: 6).scalars
        return xs
    }

    @Test func fastGeluWithinOneMillionthOfExact() {
        let xs = geluArguments
        let fast = Tensor(xs).gelu().scalars
        var worst: Float = 0
        for (x, y) in zip(xs, fast) {
            let exact = exactGelu(x).value
            let error = Float(Swift.abs(Double(y) - exact) / Swift.max(Swift.abs(exact), 1e-30))
            worst = Swift.max(worst, error)
        }
        #expect(worst < 1e-6, "largest relative error \(worst)")
        // The plain float formula agrees to float precision where ½(1 + erf) does not cancel.
        let reference = Tensor(xs).referenceGelu().scalars
        for (x, (y, r)) in zip(xs, zip(fast, reference)) where x > -3 {
            #expect(Swift.abs(y - r) <= 1e-6 * Swift.max(1, Swift.abs(r)), "gelu(\(x)) = \(y), reference \(r)")
        }
    }

    @Test func fastGeluDerivativeWithinOneMillionthOfExact() {
        let xs = geluArguments
        let x = Tensor(xs).requiringGradient()
        x.gelu().sum().backward()
        let gradient = x.gradient!.scalars
        var worst: Double = 0
        for (v, d) in zip(xs, gradient) {
            let exact = exactGelu(v)
            worst = Swift.max(worst, Swift.abs(Double(d) - exact.derivative) / Swift.max(exact.derivativeScale, 1e-30))
        }
        #expect(worst < 2e-6, "largest relative error \(worst)")
    }

    @Test func fastGeluSpecialValues() {
        let y = Tensor([0, -0.0, .infinity, -50, 50, 1e-30, -1e-30, .nan]).gelu().scalars
        #expect(y[0] == 0 && y[1] == 0)
        #expect(y[2] == .infinity)
        #expect(y[3] == 0 && y[4] == 50)
        #expect(y[5] == 0.5e-30 && y[6] == -0.5e-30)
        #expect(y[7].isNaN)
    }
}
