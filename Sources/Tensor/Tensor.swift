/// A dense, row-major, n-dimensional array of `Float` with value semantics and reverse-mode autodiff.
///
/// `Tensor` is a struct over a copy-on-write `TensorStorage`: assigning a tensor copies a
/// reference, and the first mutation of a shared buffer copies it. Every tensor is contiguous;
/// shape operations that reorder memory (``permuted(_:)``) materialise a new buffer, while matrix
/// products take transposes as BLAS flags and never materialise them.
///
/// Layouts follow PyTorch: images are `[N, C, H, W]`, a linear weight is `[out, in]`, a
/// convolution weight is `[O, I/groups, kH, kW]`.
///
/// A tensor that ``requiresGradient`` records the operations applied to it on a tape;
/// ``backward(_:)`` walks that tape in reverse and accumulates ``gradient`` in the leaves.
/// Inside ``Tensor/withoutGradient(_:)`` nothing is recorded.
///
/// ```swift
/// var x = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]).requiringGradient()
/// let y = (x * x).sum()
/// y.backward()
/// x.gradient  // [[2, 4], [6, 8]]
/// ```
public struct Tensor: @unchecked Sendable {
    /// The buffer; shared between copies until one of them mutates.
    @usableFromInline internal var storage: TensorStorage
    /// The extent of each dimension; `[]` for a scalar.
    public internal(set) var shape: [Int]
    /// The autodiff node, present when the tensor takes part in gradient computation.
    @usableFromInline internal var node: GradientNode?

    /// Wraps a storage; `shape` must describe exactly `storage.count` elements.
    @usableFromInline internal init(storage: TensorStorage, shape: [Int], node: GradientNode? = nil) {
        self.storage = storage
        self.shape = shape
        self.node = node
    }

    /// Creates a tensor of `shape` whose elements are left uninitialised, for kernels that write
    /// every element.
    public init(uninitializedShape shape: [Int]) {
        Shape.validate(shape, op: "Tensor(uninitializedShape:)")
        self.init(storage: TensorStorage(uninitializedCount: Shape.count(shape)), shape: shape)
    }

    /// Creates a tensor of `shape` from row-major `scalars`.
    ///
    /// - Precondition: `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        Shape.validate(shape, op: "Tensor(shape:scalars:)")
        precondition(Shape.count(shape) == scalars.count,
                     "Tensor(shape:scalars:): shape \(shape) holds \(Shape.count(shape)) elements, got \(scalars.count)")
        let storage = scalars.withUnsafeBufferPointer { TensorStorage(copying: $0) }
        self.init(storage: storage, shape: shape)
    }

    /// Creates a one-dimensional tensor from `scalars`.
    public init(_ scalars: [Float]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    /// Creates a zero-dimensional tensor (a scalar).
    public init(_ scalar: Float) {
        self.init(storage: TensorStorage(repeating: scalar, count: 1), shape: [])
    }

    /// Creates a tensor of `shape` with every element set to `value`.
    public init(repeating value: Float, shape: [Int]) {
        Shape.validate(shape, op: "Tensor(repeating:shape:)")
        self.init(storage: TensorStorage(repeating: value, count: Shape.count(shape)), shape: shape)
    }

    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// The number of elements.
    @inlinable public var count: Int { storage.count }
    /// The elements in row-major order, copied into an array.
    public var scalars: [Float] { Array(storage.buffer) }

    /// The value of a one-element tensor.
    ///
    /// - Precondition: the tensor holds exactly one element.
    public var item: Float {
        precondition(count == 1, "Tensor.item: tensor of shape \(shape) holds \(count) elements, not 1")
        return storage.baseAddress[0]
    }

    /// Calls `body` with the elements, read-only.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(storage.buffer))
    }

    /// Calls `body` with the elements, writable; copies the storage first if it is shared.
    ///
    /// Writing through this pointer is invisible to autodiff: it is meant for building inputs and
    /// for optimizers, not for differentiable computation.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            storage = TensorStorage(copying: UnsafeBufferPointer(storage.buffer))
        }
        return try body(storage.buffer)
    }

    /// The element at a multi-index, for tests and small inspections (not for kernels).
    public subscript(index indices: [Int]) -> Float {
        precondition(indices.count == rank, "Tensor[index:]: \(indices.count) indices for a rank-\(rank) tensor of shape \(shape)")
        var offset = 0
        for (axis, i) in indices.enumerated() {
            precondition(i >= 0 && i < shape[axis], "Tensor[index:]: index \(i) out of range for axis \(axis) of shape \(shape)")
            offset = offset * shape[axis] + i
        }
        return storage.baseAddress[offset]
    }
}

extension Tensor: CustomStringConvertible {
    /// A short description: the shape and up to the first eight elements.
    public var description: String {
        let head = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(count > 8 ? ", …" : "")])"
    }
}
