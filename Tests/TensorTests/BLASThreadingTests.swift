import Tensor
import Testing

/// Grain's own split of large BLAS products over its workers (OpenBLAS single-threaded): every
/// split path against the naive references, at sizes above `BLASThreading.parallelWork` so the
/// products really are split, with transposes, leading dimensions and `beta`.
@Suite struct BLASThreadingTests {
    func randomMatrix(_ rows: Int, _ columns: Int, seed: UInt64) -> Matrix {
        var generator = RandomGenerator(seed: seed)
        return Matrix(rows: rows, columns: columns, elements: (0..<(rows * columns)).map { _ in generator.nextStandardNormal() })
    }

    func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
        var generator = RandomGenerator(seed: seed)
        return (0..<count).map { _ in Float(generator.nextStandardNormal()) }
    }

    @Test func openBLASRunsSingleThreadedAndNamesItsCore() {
        #expect(BLASThreading.threadsPerCall == 1)
        #expect(!BLASThreading.coreName.isEmpty && BLASThreading.coreName != "unknown")
    }

    @Test(arguments: [(64, 700, 64), (700, 64, 64), (129, 131, 257)])
    func splitSgemmMatchesReference(m: Int, n: Int, k: Int) {
        #expect(m * n * k >= BLASThreading.parallelWork)
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomFloats(m * k, seed: 1), b = randomFloats(k * n, seed: 2)
            var fast = [Float](repeating: 0, count: m * n), reference = fast
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    Tensor.gemm(pa.baseAddress!, transposeA: transposeA, pb.baseAddress!, transposeB: transposeB,
                                m: m, n: n, k: k, into: &fast)
                    Tensor.referenceGemm(pa.baseAddress!, transposeA: transposeA, pb.baseAddress!, transposeB: transposeB,
                                         m: m, n: n, k: k, into: &reference)
                }
            }
            let worst = zip(fast, reference).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-3, "m \(m) n \(n) k \(k) transposes \(transposeA) \(transposeB): \(worst)")
        }
    }

    @Test func splitSgemmKeepsLeadingDimensionsAndAccumulates() {
        // C is a [300, 96] window of a [300, 100] buffer; beta = 1 adds onto what is there.
        let m = 300, n = 96, k = 80, ldc = 100
        let a = randomFloats(m * k, seed: 3), b = randomFloats(k * n, seed: 4)
        var c = [Float](repeating: 0.5, count: m * ldc)
        var product = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                Tensor.gemm(pa.baseAddress!, transposeA: false, pb.baseAddress!, transposeB: false,
                            m: m, n: n, k: k, into: &c, beta: 1, ldc: ldc)
                Tensor.referenceGemm(pa.baseAddress!, transposeA: false, pb.baseAddress!, transposeB: false,
                                     m: m, n: n, k: k, into: &product)
            }
        }
        var worst: Float = 0
        for i in 0..<m {
            for j in 0..<n { worst = max(worst, abs(c[i * ldc + j] - (product[i * n + j] + 0.5))) }
            for j in n..<ldc { worst = max(worst, abs(c[i * ldc + j] - 0.5)) }  // outside the window: untouched
        }
        #expect(worst < 1e-3)
    }

    @Test func splitDgemmMatchesReference() {
        for (m, n, k) in [(200, 100, 150), (100, 200, 150)] {
            for (transposeA, transposeB) in [(false, false), (true, true)] {
                let a = transposeA ? randomMatrix(k, m, seed: 5) : randomMatrix(m, k, seed: 5)
                let b = transposeB ? randomMatrix(n, k, seed: 6) : randomMatrix(k, n, seed: 6)
                let fast = Matrix.product(a, b, transposeA: transposeA, transposeB: transposeB)
                let reference = Matrix.referenceProduct(a, b, transposeA: transposeA, transposeB: transposeB)
                #expect(fast.maximumAbsoluteDifference(to: reference) < 1e-10)
            }
        }
    }

    @Test func splitTriangularProductAndSolveMatchReferences() throws {
        let a = randomMatrix(1200, 64, seed: 7), t = randomMatrix(64, 64, seed: 8)
        for upper in [true, false] {
            #expect(Matrix.triangularProduct(a, t, upper: upper)
                .maximumAbsoluteDifference(to: Matrix.referenceTriangularProduct(a, t, upper: upper)) < 1e-10)
        }
        // A well-conditioned triangle: unit-dominant diagonal.
        var factor = randomMatrix(96, 96, seed: 9)
        for i in 0..<96 { factor[i, i] = 10 + abs(factor[i, i]) }
        let b = randomMatrix(96, 600, seed: 10)
        for (lower, transpose) in [(true, false), (false, true)] {
            let fast = try factor.solveTriangular(b, lower: lower, transpose: transpose)
            #expect(fast.maximumAbsoluteDifference(to: factor.referenceSolveTriangular(b, lower: lower, transpose: transpose)) < 1e-10)
        }
    }

    @Test func splitScattersMatchReference() {
        // 2,400 × 48: each dense component's dsyrk is split over the workers, the partial sums added.
        let x = randomMatrix(2400, 48, seed: 11), centres = randomMatrix(2, 48, seed: 12)
        var generator = RandomGenerator(seed: 13)
        var weights = Matrix(rows: 2400, columns: 2)
        for i in 0..<2400 {
            weights[i, 0] = generator.nextUnitDouble()
            weights[i, 1] = generator.nextUnitDouble()
        }
        let fast = Matrix.weightedScatters(x, centres: centres, weights: weights)
        let reference = Matrix.referenceWeightedScatters(x, centres: centres, weights: weights)
        for (a, b) in zip(fast, reference) {
            #expect(a.maximumAbsoluteDifference(to: b) < 1e-9 * max(1, b.elements.map(abs).max() ?? 1))
            #expect(a == a.transposed)
        }
    }

    @Test func whitenedNormsOverManyTilesMatchReference() {
        // 1,000 rows: four tiles of 256 rows, the last one partial, spread over the workers.
        let x = randomMatrix(1000, 40, seed: 14), centres = randomMatrix(3, 40, seed: 15)
        let triangulars = (0..<3).map { randomMatrix(40, 40, seed: 16 + UInt64($0)) }
        let fast = Matrix.whitenedSquaredNorms(x, centres: centres, triangulars: triangulars, upper: true)
        let reference = Matrix.referenceWhitenedSquaredNorms(x, centres: centres, triangulars: triangulars, upper: true)
        #expect(fast.maximumAbsoluteDifference(to: reference) < 1e-9 * max(1, reference.elements.map(abs).max() ?? 1))
    }
}
