import CKernels
import Foundation

/// The instruction-set variants of the kernels Tensor dispatches at run time (the `CKernels`
/// target): GELU's forward and derivative, softmax / log-softmax over contiguous rows, the row
/// exponential of attention and the losses, and layer norm's normalise pass over wide rows.
///
/// SwiftPM builds Swift for baseline x86-64 (SSE2), so Tensor's own SIMD kernels run 4 lanes
/// wide; the C variants are compiled for AVX2 + FMA and for AVX-512 and picked once, from what the
/// CPU supports. `portable` means Tensor's Swift SIMD kernels, the only path on other
/// architectures and the reference the C variants are tested against.
public enum KernelLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// Tensor's Swift SIMD kernels (SSE2 on x86-64).
    case portable = 0
    /// C kernels compiled for AVX2 and FMA (8 float lanes).
    case avx2 = 1
    /// C kernels compiled for AVX-512 F and DQ (16 float lanes).
    case avx512 = 2

    /// Orders levels by instruction-set width.
    public static func < (lhs: KernelLevel, rhs: KernelLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The name `GRAIN_KERNELS` accepts: `portable`, `avx2` or `avx512`.
    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }
}

/// Which variant of the run-time dispatched kernels Tensor uses.
public enum Kernels {
    /// The widest level this CPU and OS support (`portable` off x86-64).
    public static let hardwareLevel = KernelLevel(rawValue: Int(grain_kernels_cpu_level().rawValue)) ?? .portable

    /// The level Tensor's ops use: ``hardwareLevel``, lowered by the environment variable
    /// `GRAIN_KERNELS` when it names a narrower level (`GRAIN_KERNELS=portable` forces the Swift
    /// SIMD kernels); other values are ignored. Read once, at first use.
    public static let activeLevel = level(requested: ProcessInfo.processInfo.environment["GRAIN_KERNELS"],
                                          hardware: hardwareLevel)

    /// The level for a `GRAIN_KERNELS` value: the named level (any case) capped at `hardware`, or
    /// `hardware` when the value is nil or names no level.
    static func level(requested: String?, hardware: KernelLevel) -> KernelLevel {
        guard let level = KernelLevel.allCases.first(where: { $0.description == requested?.lowercased() }) else { return hardware }
        return Swift.min(level, hardware)
    }

    /// The C entry points of `level`, or nil for `portable` or a level this CPU lacks.
    static func table(_ level: KernelLevel) -> GrainKernelTable? {
        grain_kernels_table(GrainKernelLevel(rawValue: UInt32(level.rawValue)))?.pointee
    }

    /// Outputs of at least this many floats (16 MB) are written by the C kernels with
    /// non-temporal stores, around the caches: far larger than L2 and half the L3 of the
    /// development machine, they would be evicted before use, and streaming saves reading every
    /// output line from memory before overwriting it.
    static let streamingFloats = 1 << 22

    /// The entry points of ``activeLevel`` (nil when it is `portable`).
    static let active: GrainKernelTable? = table(activeLevel)
}
