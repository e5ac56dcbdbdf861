/// The check that weight readers run on every floating-point tensor they convert: NaN and ±∞
/// are refused with ``WeightFileError/nonFiniteValues(path:key:count:firstIndex:)``.
///
/// A scan of the converted float32 values, 16 lanes at a time on the bit patterns (an IEEE 754
/// value is not finite exactly when its exponent bits are all ones), costs a fraction of the
/// conversion it follows, so it runs on every load.
package enum Finiteness {
    /// The number of NaN or infinite values in `values`.
    package static func nonFiniteCount(_ values: UnsafeBufferPointer<Float>) -> Int {
        guard let base = values.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        let count = values.count
        let exponent = SIMD16<UInt32>(repeating: 0x7F80_0000)
        var lanes = SIMD16<UInt32>()
        var index = 0
        while index &+ 16 <= count {
            let bits = raw.loadUnaligned(fromByteOffset: index &* 4, as: SIMD16<UInt32>.self)
            lanes &+= SIMD16<UInt32>().replacing(with: 1, where: (bits & exponent) .== exponent)
            index &+= 16
        }
        var total = Int(lanes.wrappedSum())
        while index < count {
            if !base[index].isFinite { total &+= 1 }
            index &+= 1
        }
        return total
    }

    /// Throws when `values` holds a NaN or an infinity.
    ///
    /// - Throws: ``WeightFileError/nonFiniteValues(path:key:count:firstIndex:)`` naming the
    ///   file, the tensor, how many values and the first one.
    static func check(_ values: UnsafeBufferPointer<Float>, path: String, key: String) throws {
        let bad = nonFiniteCount(values)
        guard bad > 0 else { return }
        let first = values.firstIndex(where: { !$0.isFinite }) ?? 0
        throw WeightFileError.nonFiniteValues(path: path, key: key, count: bad, firstIndex: first)
    }

    /// Throws when `values` holds a NaN or an infinity (the float64 path of a detector file).
    static func check(_ values: [Double], path: String, key: String) throws {
        var bad = 0
        for value in values where !value.isFinite { bad += 1 }
        guard bad > 0 else { return }
        throw WeightFileError.nonFiniteValues(path: path, key: key, count: bad, firstIndex: values.firstIndex(where: { !$0.isFinite }) ?? 0)
    }
}
