extension SafeTensors {
    /// A tensor to write with ``write(entries:metadata:to:)``, in the element type it is stored as.
    public enum Entry: Sendable {
        /// A float32 tensor, stored as `"F32"`.
        case float32(Tensor)
        /// Double-precision values in row-major order with their shape, stored as `"F64"` (a
        /// ``Matrix``'s `elements` with `[rows, columns]`, for instance).
        case float64(shape: [Int], values: [Double])

        /// The extent of each dimension.
        public var shape: [Int] {
            switch self {
            case let .float32(tensor): return tensor.shape
            case let .float64(shape, _): return shape
            }
        }

        /// The stored element type.
        public var dtype: WeightDType {
            switch self {
            case .float32: return .float32
            case .float64: return .float64
            }
        }
    }

    /// The tensor named `key` as `Double`s in row-major order: `"F64"` exactly, every other dtype
    /// converted to float32 first (as ``tensor(named:)``) and then widened.
    ///
    /// - Throws: ``WeightFileError/missingKey(path:key:)`` when there is no such tensor,
    ///   ``WeightFileError/nonFiniteValues(path:key:count:firstIndex:)`` for NaN or ±∞ (unless
    ///   the file was opened accepting them).
    public func doubles(named key: String) throws -> [Double] {
        let info = try info(named: key)
        guard info.dtype == .float64 else { return try tensor(named: key).scalars.map(Double.init) }
        let values = try withStoredBytes(named: key) { bytes in
            let count = bytes.count / 8
            return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count {
                    // Offsets in a safetensors file need not be 8-byte aligned.
                    let bits = bytes.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)
                    buffer[i] = Double(bitPattern: UInt64(littleEndian: bits))
                }
                initialized = count
            }
        }
        if !acceptsNonFiniteValues { try Finiteness.check(values, path: path, key: key) }
        return values
    }
}
