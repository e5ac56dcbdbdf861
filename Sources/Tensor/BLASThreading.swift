import COpenBLAS

/// How Grain runs OpenBLAS: single-threaded, inside Grain's own split of the work.
///
/// OpenBLAS's pthread pool busy-waits (`sched_yield`) between calls, so the many small products of
/// the extractor, the Newton–Schulz square roots and the mixture's E-step left one core spinning
/// in the kernel while Grain's own workers (`Parallel`, libdispatch threads that sleep when idle)
/// competed with it for the same two cores: `grain fit` spent about as much time in the kernel as
/// in user code. Grain therefore sets OpenBLAS to one thread at its first BLAS or LAPACK call and
/// splits large products itself (``Tensor/gemm(_:transposeA:_:transposeB:m:n:k:into:alpha:beta:lda:ldb:ldc:)``,
/// ``Matrix/product(_:_:transposeA:transposeB:alpha:)``, the mixture's whitening and scatters)
/// across `Parallel.threadCount` workers, each calling single-threaded BLAS on its share.
public enum BLASThreading {
    /// Set on first use: OpenBLAS runs every call on the calling thread from then on.
    @usableFromInline
    static let singleThreaded: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Makes sure OpenBLAS is single-threaded; every BLAS and LAPACK entry point of Tensor calls
    /// this before its first OpenBLAS call (a once-initialised flag, nearly free afterwards).
    @inlinable @inline(__always)
    public static func prepare() { _ = singleThreaded }

    /// The OpenBLAS kernel family in use (`openblas_get_corename()`, e.g. `Haswell`,
    /// `SkylakeX`), which `OPENBLAS_CORETYPE` can override; printed by the benchmark scripts.
    public static var coreName: String {
        prepare()
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build configuration (`openblas_get_config()`, version and options).
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    /// The threads OpenBLAS itself uses per call (1 once ``prepare()`` has run).
    public static var threadsPerCall: Int {
        prepare()
        return Int(openblas_get_num_threads())
    }

    /// Multiply–adds from which a single matrix product is split across Grain's workers:
    /// 2²¹ (a 128³ product, ≈ 0.1 ms on one core), well above the cost of waking a worker.
    public static let parallelWork = 1 << 21

    /// The number of column (or row) blocks of `alignment` to split a product of `work`
    /// multiply–adds over `extent` columns (or rows) into: 1 below ``parallelWork``.
    @inlinable
    static func splitCount(work: Int, extent: Int, alignment: Int) -> Int {
        guard Parallel.threadCount > 1 && work >= parallelWork else { return 1 }
        return Swift.min(Parallel.threadCount, extent / Swift.max(alignment, 1))
    }
}
