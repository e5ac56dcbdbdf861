import COpenBLAS

/// A dense, row-major matrix of `Double`, for the statistics that need double precision
/// (covariances, Cholesky factors and log-determinants of the Gaussian mixture).
///
/// `Matrix` is a plain value (an array and two extents); it takes no part in autodiff. Products go
/// through `cblas_dgemm`, factorizations through LAPACKE (see `Matrix+LinearAlgebra.swift`).
/// Conversions to and from ``Tensor`` (float32 `[rows, columns]`) bridge it to the rest of Grain.
///
/// ```swift
/// let a = Matrix(rows: 2, columns: 2, elements: [4, 2, 2, 3])
/// let l = try a.choleskyFactor()        // a == l * l.transposed
/// let x = try a.solve(Matrix(rows: 2, columns: 1, elements: [1, 2]))
/// ```
public struct Matrix: Equatable, Sendable {
    /// The number of rows.
    public let rows: Int
    /// The number of columns.
    public let columns: Int
    /// The elements in row-major order: element `(i, j)` is at `i * columns + j`.
    ///
    /// - Precondition: after any mutation it still holds exactly `rows * columns` elements.
    public var elements: [Double] {
        didSet {
            precondition(elements.count == rows * columns,
                         "Matrix.elements: a \(rows)×\(columns) matrix needs \(rows * columns) elements, got \(elements.count)")
        }
    }

    /// Creates a `rows × columns` matrix from row-major `elements`.
    ///
    /// - Precondition: `rows, columns ≥ 0` and `elements.count == rows * columns`.
    public init(rows: Int, columns: Int, elements: [Double]) {
        precondition(rows >= 0 && columns >= 0, "Matrix(rows:columns:elements:): negative extent \(rows)×\(columns)")
        precondition(elements.count == rows * columns,
                     "Matrix(rows:columns:elements:): a \(rows)×\(columns) matrix needs \(rows * columns) elements, got \(elements.count)")
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    /// Creates a `rows × columns` matrix with every element set to `value` (zeros by default).
    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && columns >= 0, "Matrix(rows:columns:repeating:): negative extent \(rows)×\(columns)")
        self.init(rows: rows, columns: columns, elements: Array(repeating: value, count: rows * columns))
    }

    /// Creates the `order × order` identity matrix.
    public init(identity order: Int) {
        self.init(diagonal: Array(repeating: 1, count: order))
    }

    /// Creates the square matrix with `diagonal` on its diagonal and zeros elsewhere.
    public init(diagonal: [Double]) {
        let n = diagonal.count
        var elements = Array(repeating: 0.0, count: n * n)
        for i in 0..<n { elements[i * n + i] = diagonal[i] }
        self.init(rows: n, columns: n, elements: elements)
    }

    /// Creates a matrix from a float32 tensor of shape `[rows, columns]`, widening to `Double`.
    ///
    /// - Precondition: `tensor` has rank 2.
    public init(_ tensor: Tensor) {
        precondition(tensor.rank == 2, "Matrix(_ tensor:): expected a [rows, columns] tensor, got shape \(tensor.shape)")
        let elements = tensor.withUnsafeBufferPointer { source in
            [Double](unsafeUninitializedCapacity: source.count) { destination, initialized in
                for i in 0..<source.count { destination[i] = Double(source[i]) }
                initialized = source.count
            }
        }
        self.init(rows: tensor.shape[0], columns: tensor.shape[1], elements: elements)
    }

    /// Whether the matrix is square.
    @inlinable public var isSquare: Bool { rows == columns }

    /// The element in row `row` and column `column`.
    ///
    /// - Precondition: both indices are in range.
    @inlinable
    public subscript(row: Int, column: Int) -> Double {
        get {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Matrix[\(row), \(column)]: index out of range for a \(rows)×\(columns) matrix")
            return elements[row &* columns &+ column]
        }
        set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Matrix[\(row), \(column)]: index out of range for a \(rows)×\(columns) matrix")
            elements[row &* columns &+ column] = newValue
        }
    }

    /// The diagonal elements, `min(rows, columns)` of them.
    public var diagonal: [Double] {
        (0..<min(rows, columns)).map { elements[$0 &* columns &+ $0] }
    }

    /// The transpose, `columns × rows`.
    public var transposed: Matrix {
        var result = [Double](repeating: 0, count: rows * columns)
        elements.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                for i in 0..<rows {
                    let row = source.baseAddress! + i &* columns
                    for j in 0..<columns { destination[j &* rows &+ i] = row[j] }
                }
            }
        }
        return Matrix(rows: columns, columns: rows, elements: result)
    }

    /// The sum of the diagonal elements.
    public var trace: Double { diagonal.reduce(0, +) }

    /// A copy with `value` added to every diagonal element (e.g. a covariance regulariser).
    public func addingToDiagonal(_ value: Double) -> Matrix {
        var result = self
        for i in 0..<min(rows, columns) { result.elements[i &* columns &+ i] += value }
        return result
    }
}

extension Tensor {
    /// Creates a float32 tensor of shape `[rows, columns]` from a matrix, rounding each element
    /// to the nearest `Float`.
    public init(_ matrix: Matrix) {
        self.init(uninitializedShape: [matrix.rows, matrix.columns])
        withUnsafeMutableBufferPointer { destination in
            matrix.elements.withUnsafeBufferPointer { source in
                for i in 0..<source.count { destination[i] = Float(source[i]) }
            }
        }
    }
}

// MARK: - Arithmetic

extension Matrix {
    /// `op(A) · op(B)` through `cblas_dgemm`, scaled by `alpha`, where `op` transposes when its
    /// flag is set (the transpose is a BLAS flag, never materialised).
    ///
    /// Shapes: `op(A)` is `[m, k]`, `op(B)` is `[k, n]`, the result is `[m, n]`.
    /// Useful for Gram matrices: `Matrix.product(x, x, transposeA: true)` is `Xᵀ X`.
    ///
    /// - Precondition: the inner extents agree.
    public static func product(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false,
                               alpha: Double = 1) -> Matrix {
        let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
        let (k2, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
        precondition(k == k2, "Matrix.product: inner extents differ: \(a.rows)×\(a.columns)\(transposeA ? "ᵀ" : "") · \(b.rows)×\(b.columns)\(transposeB ? "ᵀ" : "")")
        var result = Matrix(rows: m, columns: n)
        if m == 0 || n == 0 || k == 0 { return result }
        BLASThreading.prepare()
        let lda = max(a.columns, 1), ldb = max(b.columns, 1), ldc = max(n, 1)
        let alignment = 8
        let splitColumns = n >= m
        let blocks = BLASThreading.splitCount(work: m &* n &* k, extent: splitColumns ? n : m, alignment: alignment)
        a.elements.withUnsafeBufferPointer { pa in
            b.elements.withUnsafeBufferPointer { pb in
                result.elements.withUnsafeMutableBufferPointer { pc in
                    let sourceA = SendablePointer(UnsafeMutablePointer(mutating: pa.baseAddress!))
                    let sourceB = SendablePointer(UnsafeMutablePointer(mutating: pb.baseAddress!))
                    let target = SendablePointer(pc.baseAddress!)
                    // One block of output columns (or rows) per worker, single-threaded dgemm each
                    // (BLASThreading); one block when the product is small.
                    let extent = splitColumns ? n : m
                    let units = (extent &+ alignment &- 1) / alignment
                    Parallel.forRanges(blocks > 1 ? units : 1, minimumChunk: Swift.max(1, units / Swift.max(blocks, 1))) { start, end in
                        let first = blocks > 1 ? start &* alignment : 0
                        let last = blocks > 1 ? Swift.min(extent, end &* alignment) : extent
                        let count = last &- first
                        let offsetA = splitColumns ? 0 : (transposeA ? first : first &* lda)
                        let offsetB = splitColumns ? (transposeB ? first &* ldb : first) : 0
                        let offsetC = splitColumns ? first : first &* ldc
                        cblas_dgemm(CblasRowMajor,
                                    transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                                    Int32(splitColumns ? m : count), Int32(splitColumns ? count : n), Int32(k), alpha,
                                    sourceA.pointer + offsetA, Int32(lda),
                                    sourceB.pointer + offsetB, Int32(ldb),
                                    0, target.pointer + offsetC, Int32(ldc))
                    }
                }
            }
        }
        return result
    }

    /// The naive triple loop for `op(A) · op(B)`, the reference for ``product(_:_:transposeA:transposeB:alpha:)``.
    public static func referenceProduct(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false) -> Matrix {
        let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
        let (k2, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
        precondition(k == k2, "Matrix.referenceProduct: inner extents differ: \(a.rows)×\(a.columns) · \(b.rows)×\(b.columns)")
        var result = Matrix(rows: m, columns: n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    sum += (transposeA ? a[p, i] : a[i, p]) * (transposeB ? b[j, p] : b[p, j])
                }
                result[i, j] = sum
            }
        }
        return result
    }

    /// The matrix product `A · B` (`[m, k] · [k, n] → [m, n]`) through `cblas_dgemm`.
    public static func * (a: Matrix, b: Matrix) -> Matrix { product(a, b) }

    /// Element-wise sum. - Precondition: equal shapes.
    public static func + (a: Matrix, b: Matrix) -> Matrix { elementwise(a, b, "+", +) }

    /// Element-wise difference. - Precondition: equal shapes.
    public static func - (a: Matrix, b: Matrix) -> Matrix { elementwise(a, b, "-", -) }

    /// Every element multiplied by `scalar`.
    public static func * (scalar: Double, a: Matrix) -> Matrix {
        Matrix(rows: a.rows, columns: a.columns, elements: a.elements.map { scalar * $0 })
    }

    private static func elementwise(_ a: Matrix, _ b: Matrix, _ name: String, _ op: (Double, Double) -> Double) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns,
                     "Matrix \(name): shapes differ: \(a.rows)×\(a.columns) and \(b.rows)×\(b.columns)")
        return Matrix(rows: a.rows, columns: a.columns, elements: zip(a.elements, b.elements).map(op))
    }

    /// The largest absolute element-wise difference to `other` (for tests and tolerances).
    ///
    /// - Precondition: equal shapes.
    public func maximumAbsoluteDifference(to other: Matrix) -> Double {
        precondition(rows == other.rows && columns == other.columns,
                     "Matrix.maximumAbsoluteDifference: shapes differ: \(rows)×\(columns) and \(other.rows)×\(other.columns)")
        return zip(elements, other.elements).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
    }
}

extension Matrix: CustomStringConvertible {
    /// The shape and the rows (up to eight of each), e.g. `Matrix 2×2 [[4.0, 2.0], [2.0, 3.0]]`.
    public var description: String {
        let shown = (0..<Swift.min(rows, 8)).map { i in
            "[" + (0..<Swift.min(columns, 8)).map { "\(self[i, $0])" }.joined(separator: ", ") + (columns > 8 ? ", …" : "") + "]"
        }
        return "Matrix \(rows)×\(columns) [" + shown.joined(separator: ", ") + (rows > 8 ? ", …" : "") + "]"
    }
}
