import Foundation
import Tensor
import Testing

/// The BLAS-backed statistics primitives on Matrix against their naive references, and Codable.
@Suite struct MatrixStatisticsTests {
    func randomMatrix(_ rows: Int, _ columns: Int, seed: UInt64) -> Matrix {
        var generator = RandomGenerator(seed: seed)
        return Matrix(rows: rows, columns: columns, elements: (0..<(rows * columns)).map { _ in generator.nextStandardNormal() })
    }

    @Test func weightedGramMatchesReference() {
        let x = randomMatrix(37, 9, seed: 1)
        var generator = RandomGenerator(seed: 2)
        let weights = (0..<37).map { _ in generator.nextUnitDouble() }
        let fast = Matrix.weightedGram(x, rowWeights: weights, alpha: 0.25)
        #expect(fast.maximumAbsoluteDifference(to: Matrix.referenceWeightedGram(x, rowWeights: weights, alpha: 0.25)) < 1e-12)
        #expect(fast == fast.transposed)
        #expect(Matrix.weightedGram(x).maximumAbsoluteDifference(to: Matrix.product(x, x, transposeA: true)) < 1e-12)
    }

    @Test func triangularProductMatchesReference() {
        let a = randomMatrix(23, 7, seed: 3)
        let t = randomMatrix(7, 7, seed: 4)  // only one triangle is read
        for upper in [true, false] {
            let fast = Matrix.triangularProduct(a, t, upper: upper)
            #expect(fast.maximumAbsoluteDifference(to: Matrix.referenceTriangularProduct(a, t, upper: upper)) < 1e-12)
        }
    }

    @Test func rowHelpers() {
        let m = Matrix(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5, 6])
        #expect(m.row(1) == [4, 5, 6])
        #expect(m.subtractingFromRows([1, 1, 2]) == Matrix(rows: 2, columns: 3, elements: [0, 1, 1, 3, 4, 4]))
    }

    @Test func codableRoundTripIsExact() throws {
        let m = randomMatrix(4, 5, seed: 6)
        #expect(try JSONDecoder().decode(Matrix.self, from: JSONEncoder().encode(m)) == m)
        let bad = Data(#"{"rows": 2, "columns": 2, "elements": [1, 2, 3]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Matrix.self, from: bad) }
    }
}
