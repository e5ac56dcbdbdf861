/// The buffer behind one or more ``Tensor`` values: a 64-byte-aligned block of `Float`.
///
/// `Tensor` owns its storage copy-on-write: several tensors may share one storage, and the first
/// mutation through a shared one copies it. Kernels reach the memory through
/// ``Tensor/withUnsafeBufferPointer(_:)`` and ``Tensor/withUnsafeMutableBufferPointer(_:)``.
@usableFromInline package final class TensorStorage: @unchecked Sendable {
    /// The first element.
    @usableFromInline package let baseAddress: UnsafeMutablePointer<Float>
    /// The number of elements.
    @usableFromInline package let count: Int

    /// Allocates `count` uninitialised elements.
    @usableFromInline package init(uninitializedCount count: Int) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = BufferCache.shared.take(byteCount: bytes)
            ?? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        baseAddress = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    /// Allocates `count` elements, each set to `value`.
    @usableFromInline package convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        baseAddress.initialize(repeating: value, count: count)
    }

    /// Allocates a copy of `source`.
    @usableFromInline package convenience init(copying source: UnsafeBufferPointer<Float>) {
        self.init(uninitializedCount: source.count)
        if let base = source.baseAddress { baseAddress.initialize(from: base, count: source.count) }
    }

    deinit {
        let raw = UnsafeMutableRawPointer(baseAddress)
        if !BufferCache.shared.give(raw, byteCount: max(count, 1) * MemoryLayout<Float>.stride) { raw.deallocate() }
    }

    /// The elements as a buffer.
    @inlinable package var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: baseAddress, count: count)
    }
}
