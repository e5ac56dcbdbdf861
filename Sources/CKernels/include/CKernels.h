// Grain's run-time dispatched SIMD kernels for x86-64.
//
// SwiftPM compiles Swift for baseline x86-64 (SSE2, 4 float lanes) and the package allows no
// `unsafeFlags`, so the transcendental kernels (GELU's erf, softmax's exp) are compute-bound in
// Swift. (Layer norm's normalise pass is here too, for its non-temporal stores.) This target compiles the same algorithms twice more, with
// `__attribute__((target("avx2,fma")))` and `__attribute__((target("avx512f,avx512dq")))`, and
// `grain_kernels_table` hands out the variant the CPU supports (checked once with
// `__builtin_cpu_supports`, which also checks that the OS saves the wider registers). The portable
// path is the Swift SIMD code in Tensor (`Tensor+Activation.swift`, `Tensor+Softmax.swift`): on a
// CPU without AVX2, on other architectures, or with `GRAIN_KERNELS=portable`, Tensor uses it.
#ifndef GRAIN_CKERNELS_H
#define GRAIN_CKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction-set levels of the kernels.
typedef enum GrainKernelLevel {
    /// No C variant: callers use their portable (Swift SIMD) code.
    GrainKernelLevelPortable = 0,
    /// AVX2 and FMA, 8 float lanes.
    GrainKernelLevelAVX2 = 1,
    /// AVX-512 F and DQ, 16 float lanes.
    GrainKernelLevelAVX512 = 2,
} GrainKernelLevel;

/// One variant's entry points. All pointers are to `count` (or `rows · n`) contiguous floats;
/// outputs may not overlap inputs. With `streaming != 0` outputs are written with non-temporal
/// stores, around the caches (for outputs far larger than the caches, which would leave them
/// before use anyway); the GELU and softmax calls end with a store fence.
typedef struct GrainKernelTable {
    /// `y[i] = x[i] · Φ(x[i])` (exact GELU) for `i < count`: the algorithm of Tensor's
    /// `geluKernel` (Numerical Recipes' erfc with x² split exactly, a Cody–Waite exponential),
    /// relative error below 1e-6 wherever the result is a normal float; 0 below x ≈ −13.2.
    void (*gelu)(const float *x, float *y, long count, int streaming);
    /// `y = x · Φ(x)`'s derivative `Φ(x) + x·φ(x)` for `i < count` (GELU's backward factor).
    void (*geluDerivative)(const float *x, float *y, long count, int streaming);
    /// Softmax (`logarithm == 0`) or log-softmax of each of `rows` contiguous rows of `n ≥ 1`
    /// floats: the maximum (ignoring NaN) subtracted, `exp`, the sum, then a scale by 1/sum (or
    /// `(x − max) − log sum`). A row with a NaN gives NaN; an all-`−inf` row gives NaN.
    void (*softmaxRows)(const float *x, float *y, long rows, long n, int logarithm, int streaming);
    /// Layer norm's normalise pass: `y[j] = (x[j] − mean − meanCorrection)·inverseDeviation·weight[j]
    /// + bias[j]` for `j < count`, rounded step by step as Tensor's Swift loop (no FMA contraction),
    /// so bit-identical to it. With `streaming != 0` the output goes around the caches
    /// (non-temporal stores); call `storeFence` after the last such call.
    void (*normalize)(const float *x, float *y, const float *weight, const float *bias, long count, float mean,
                      float meanCorrection, float inverseDeviation, int streaming);
    /// Orders the calling thread's non-temporal stores before its later stores (`sfence`).
    void (*storeFence)(void);
    /// `y[j] = exp(x[j] − shift)` for `j < count` (`x ≤ shift` expected, as after subtracting a
    /// maximum; `y` may equal `x`), returning their sum: softmax's exponential (Cephes' `expf`
    /// polynomial, within 2e-7 relative; arguments below ln(FLT_MIN) give 0, NaN stays NaN).
    float (*exponentiate)(const float *x, float shift, float *y, long count);
} GrainKernelTable;

/// The best level this CPU (and OS) supports; computed once.
GrainKernelLevel grain_kernels_cpu_level(void);

/// The entry points of `level`, or NULL when `level` is portable or not supported by this CPU.
const GrainKernelTable *grain_kernels_table(GrainKernelLevel level);

#ifdef __cplusplus
}
#endif

#endif
