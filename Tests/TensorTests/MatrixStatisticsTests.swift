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

    @Test func whitenedSquaredNormsMatchReference() {
        // 3,000 rows × 11 features: large enough for the row passes to split across cores.
        let x = randomMatrix(3000, 11, seed: 7)
        let centres = randomMatrix(3, 11, seed: 8)
        let triangulars = (0..<3).map { randomMatrix(11, 11, seed: 9 + UInt64($0)) }  // one triangle is read
        for upper in [true, false] {
            let fast = Matrix.whitenedSquaredNorms(x, centres: centres, triangulars: triangulars, upper: upper)
            let reference = Matrix.referenceWhitenedSquaredNorms(x, centres: centres, triangulars: triangulars, upper: upper)
            #expect(fast.rows == 3000 && fast.columns == 3)
            #expect(fast.maximumAbsoluteDifference(to: reference) < 1e-10)
        }
        #expect(Matrix.whitenedSquaredNorms(Matrix(rows: 0, columns: 11), centres: centres, triangulars: triangulars, upper: true).rows == 0)
    }

    @Test func weightedScattersMatchReferenceAndSkipZeroWeights() {
        let x = randomMatrix(3000, 9, seed: 12)
        let centres = randomMatrix(3, 9, seed: 13)
        var generator = RandomGenerator(seed: 14)
        // Column 0 dense, column 1 mostly exact zeros (skipped rows), column 2 all zero.
        var weights = Matrix(rows: 3000, columns: 3)
        for i in 0..<3000 {
            weights[i, 0] = generator.nextUnitDouble()
            weights[i, 1] = i % 7 == 0 ? generator.nextUnitDouble() : 0
        }
        let fast = Matrix.weightedScatters(x, centres: centres, weights: weights)
        let reference = Matrix.referenceWeightedScatters(x, centres: centres, weights: weights)
        #expect(fast.count == 3)
        for (a, b) in zip(fast, reference) {
            #expect(a.maximumAbsoluteDifference(to: b) < 1e-9 * max(1, b.elements.map(abs).max() ?? 1))
            #expect(a == a.transposed)
        }
        #expect(fast[2] == Matrix(rows: 9, columns: 9))
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
