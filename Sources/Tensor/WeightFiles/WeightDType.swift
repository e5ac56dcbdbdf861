/// The element type of a tensor stored in a weight file, and its conversion to `Float`.
///
/// Names follow the safetensors spec (``safetensorsName``: `"F32"`, `"BF16"`…) and PyTorch's
/// legacy storage classes (``init(torchStorageName:)``: `"FloatStorage"`, `"HalfStorage"`…).
/// Every type converts to float32 as PyTorch's `tensor.float()` does: half and bfloat16 exactly,
/// float64 and 64-bit integers rounded to nearest, booleans to 0 or 1.
public enum WeightDType: String, CaseIterable, Sendable {
    /// IEEE 754 binary32 (`F32`, `torch.float32`).
    case float32
    /// IEEE 754 binary16 (`F16`, `torch.float16`).
    case float16
    /// Brain floating point: the top 16 bits of a binary32 (`BF16`, `torch.bfloat16`).
    case bfloat16
    /// IEEE 754 binary64 (`F64`, `torch.float64`).
    case float64
    /// 8-bit float with 4 exponent and 3 mantissa bits, no infinities (`F8_E4M3`, `torch.float8_e4m3fn`).
    case float8E4M3
    /// 8-bit float with 5 exponent and 2 mantissa bits (`F8_E5M2`, `torch.float8_e5m2`).
    case float8E5M2
    /// Signed 64-bit integer (`I64`, `torch.int64`).
    case int64
    /// Signed 32-bit integer (`I32`, `torch.int32`).
    case int32
    /// Signed 16-bit integer (`I16`, `torch.int16`).
    case int16
    /// Signed 8-bit integer (`I8`, `torch.int8`).
    case int8
    /// Unsigned 64-bit integer (`U64`).
    case uint64
    /// Unsigned 32-bit integer (`U32`).
    case uint32
    /// Unsigned 16-bit integer (`U16`).
    case uint16
    /// Unsigned 8-bit integer (`U8`, `torch.uint8`).
    case uint8
    /// One byte per element, zero for false (`BOOL`, `torch.bool`).
    case bool

    /// The size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .float8E4M3, .float8E5M2, .int8, .uint8, .bool: return 1
        }
    }

    /// Whether the type is a floating-point one (whose values may be NaN or infinite).
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64, .float8E4M3, .float8E5M2: return true
        default: return false
        }
    }

    /// The name used in safetensors headers (`"F32"`, `"BF16"`, `"BOOL"`…).
    public var safetensorsName: String {
        switch self {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float64: return "F64"
        case .float8E4M3: return "F8_E4M3"
        case .float8E5M2: return "F8_E5M2"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint64: return "U64"
        case .uint32: return "U32"
        case .uint16: return "U16"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }

    /// The type named `name` in a safetensors header, or nil for an unknown name.
    public init?(safetensorsName name: String) {
        guard let match = WeightDType.allCases.first(where: { $0.safetensorsName == name }) else { return nil }
        self = match
    }

    /// The type of a PyTorch legacy storage class (`"FloatStorage"`, `"HalfStorage"`,
    /// `"BFloat16Storage"`, `"LongStorage"`…), or nil for any other name.
    public init?(torchStorageName name: String) {
        switch name {
        case "FloatStorage": self = .float32
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "DoubleStorage": self = .float64
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }
}

// MARK: - Conversion to Float

extension WeightDType {
    /// Converts `count` elements stored at `source` (any alignment) into `destination`.
    ///
    /// `littleEndian` says how the bytes are ordered in the file. Little-endian float32 on a
    /// little-endian machine is a plain copy; everything else goes through
    /// the per-element loop. Large conversions are split over the cores.
    func convert(from source: UnsafeRawPointer, count: Int, littleEndian: Bool,
                 to destination: UnsafeMutablePointer<Float>) {
        if self == .float32 && littleEndian == (1.littleEndian == 1) {
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count &* 4)
            return
        }
        let size = byteSize
        let sourceBox = UncheckedBox(source)
        let destinationBox = SendablePointer(destination)
        Parallel.forRanges(count, minimumChunk: 1 << 18) { start, end in
            let source = sourceBox.value, destination = destinationBox.pointer
            self.convertRange(source, destination, start: start, end: end, size: size, littleEndian: littleEndian)
        }
    }

    /// The conversion loop over elements `start..<end`, one switch per call rather than per element.
    private func convertRange(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>,
                              start: Int, end: Int, size: Int, littleEndian: Bool) {
        @inline(__always) func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            let raw = source.loadUnaligned(fromByteOffset: i &* size, as: T.self)
            return littleEndian ? T(littleEndian: raw) : T(bigEndian: raw)
        }
        switch self {
        case .float32:
            for i in start..<end { destination[i] = Float(bitPattern: load(i, UInt32.self)) }
        case .float16:
            for i in start..<end { destination[i] = WeightDType.floatFromHalf(load(i, UInt16.self)) }
        case .bfloat16:
            for i in start..<end { destination[i] = Float(bitPattern: UInt32(load(i, UInt16.self)) << 16) }
        case .float64:
            for i in start..<end { destination[i] = Float(Double(bitPattern: load(i, UInt64.self))) }
        case .float8E4M3:
            for i in start..<end { destination[i] = WeightDType.floatFromFloat8E4M3(load(i, UInt8.self)) }
        case .float8E5M2:
            for i in start..<end { destination[i] = WeightDType.floatFromHalf(UInt16(load(i, UInt8.self)) << 8) }
        case .int64:
            for i in start..<end { destination[i] = Float(load(i, Int64.self)) }
        case .int32:
            for i in start..<end { destination[i] = Float(load(i, Int32.self)) }
        case .int16:
            for i in start..<end { destination[i] = Float(load(i, Int16.self)) }
        case .int8:
            for i in start..<end { destination[i] = Float(load(i, Int8.self)) }
        case .uint64:
            for i in start..<end { destination[i] = Float(load(i, UInt64.self)) }
        case .uint32:
            for i in start..<end { destination[i] = Float(load(i, UInt32.self)) }
        case .uint16:
            for i in start..<end { destination[i] = Float(load(i, UInt16.self)) }
        case .uint8:
            for i in start..<end { destination[i] = Float(load(i, UInt8.self)) }
        case .bool:
            for i in start..<end { destination[i] = load(i, UInt8.self) != 0 ? 1 : 0 }
        }
    }

    /// The one element stored at `source` as a `Float`, without the float32 copy fast path: the
    /// reference that tests compare ``convert(from:count:littleEndian:to:)`` against.
    func element(at source: UnsafeRawPointer, littleEndian: Bool) -> Float {
        var result: Float = 0
        withUnsafeMutablePointer(to: &result) { out in
            convertRange(source, out, start: 0, end: 1, size: byteSize, littleEndian: littleEndian)
        }
        return result
    }

    /// An IEEE binary16 bit pattern widened exactly to binary32 by bit manipulation (subnormals
    /// normalised, infinities and NaN payloads kept).
    @inline(__always)
    static func floatFromHalf(_ half: UInt16) -> Float {
        let sign = UInt32(half & 0x8000) << 16
        let exponent = UInt32(half >> 10) & 0x1F
        var mantissa = UInt32(half) & 0x3FF
        if exponent == 0x1F {                       // infinity or NaN
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent != 0 {                          // normal: rebias 15 → 127
            return Float(bitPattern: sign | ((exponent &+ 112) << 23) | (mantissa << 13))
        }
        if mantissa == 0 { return Float(bitPattern: sign) }  // ±0
        var biased: UInt32 = 113                    // subnormal: shift the leading 1 into place
        while mantissa & 0x400 == 0 {
            mantissa <<= 1
            biased &-= 1
        }
        return Float(bitPattern: sign | (biased << 23) | ((mantissa & 0x3FF) << 13))
    }

    /// A float8 e4m3fn value widened exactly to binary32 (bias 7, no infinities, `S.1111.111` is NaN).
    @inline(__always)
    static func floatFromFloat8E4M3(_ byte: UInt8) -> Float {
        let sign: Float = byte & 0x80 != 0 ? -1 : 1
        let exponent = Int((byte >> 3) & 0x0F)
        let mantissa = Float(byte & 0x07)
        if exponent == 0x0F && byte & 0x07 == 0x07 { return .nan }
        if exponent == 0 { return sign * mantissa * 0x1p-9 }
        return sign * (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    }
}
