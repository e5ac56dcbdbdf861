import Tensor

/// Covariance pooling (MPN-COV, Li et al., ICCV 2017): the sample covariance of the channel
/// vectors over the spatial positions, `Σ = X Î Xᵀ` with `Î = (1/M)(I − (1/M)𝟙𝟙ᵀ)`, computed as
/// `(1/M) X̄ X̄ᵀ` with `X̄` the row-centred `X`. Differentiable.
///
/// Shapes: `[P, C, H, W] → [P, C, C]` (M = H·W).
public struct CovariancePooling: Sendable {
    /// Creates the operation.
    public init() {}

    /// Pools `input`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 4, "CovariancePooling: input must be [P, C, H, W], got \(input.shape)")
        let (p, c) = (input.shape[0], input.shape[1])
        let m = input.shape[2] * input.shape[3]
        let x = input.reshaped([p, c, m])
        let centred = x - x.mean(alongAxes: [2], keepingDimensions: true)
        return Tensor.matmul(centred, centred, transposeB: true) / Float(m)
    }
}

/// The matrix square root of symmetric positive semi-definite matrices by the coupled
/// Newton–Schulz iteration (iSQRT-COV, Li et al., CVPR 2018): `A = Σ/tr(Σ)`, `Y₀ = A`, `Z₀ = I`,
/// `T = ½(3I − Z Y)`, `Y ← Y T`, `Z ← T Z`; the last step computes only `Y`; the result is
/// scaled by `√tr(Σ)`. Differentiable.
///
/// Shapes: `[P, C, C] → [P, C, C]`.
public struct NewtonSchulzSquareRoot: Sendable {
    /// The number of iterations (5 in the released extractor).
    public let iterations: Int

    /// Creates the operation.
    public init(iterations: Int = 5) {
        precondition(iterations >= 1, "NewtonSchulzSquareRoot: iterations must be ≥ 1, got \(iterations)")
        self.iterations = iterations
    }

    /// The approximate square root of each matrix of `input`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 3 && input.shape[1] == input.shape[2],
                     "NewtonSchulzSquareRoot: input must be [P, C, C], got \(input.shape)")
        let c = input.shape[1]
        let identity = Tensor.eye(c)
        let threeIdentity = identity * 3
        let trace = (input * identity).sum(alongAxes: [1, 2], keepingDimensions: true)
        var y = input / trace
        var z = identity.expanded(to: input.shape)
        for _ in 0..<(iterations - 1) {
            let t = (threeIdentity - Tensor.matmul(z, y)) * 0.5
            (y, z) = (Tensor.matmul(y, t), Tensor.matmul(t, z))
        }
        y = Tensor.matmul(y, threeIdentity - Tensor.matmul(z, y)) * 0.5
        return y * trace.sqrt()
    }
}

/// The upper triangle with the diagonal of square matrices, row-major.
///
/// Shapes: `[P, C, C] → [P, C(C+1)/2]` (528 for C = 32).
public struct UpperTriangle: Sendable {
    /// Creates the operation.
    public init() {}

    /// The flat indices of the upper triangle of a `c × c` matrix, row-major.
    public static func indices(order c: Int) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(c * (c + 1) / 2)
        for i in 0..<c { for j in i..<c { result.append(i * c + j) } }
        return result
    }

    /// Vectorises the upper triangle of each matrix.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 3 && input.shape[1] == input.shape[2],
                     "UpperTriangle: input must be [P, C, C], got \(input.shape)")
        let c = input.shape[1]
        return input.reshaped([input.shape[0], c * c]).indexSelected(axis: 1, indices: UpperTriangle.indices(order: c))
    }
}
