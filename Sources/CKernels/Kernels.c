// Instantiates KernelBody.h for AVX2+FMA and for AVX-512, and picks one at run time.
#include "CKernels.h"

#include <stddef.h>

#if defined(__x86_64__) && defined(__clang__)

/// How a softmax row's final values are computed from its input `x` (KernelBody.h's `softmaxFinish`).
enum { GrainFinishExponential = 0, GrainFinishLogarithm = 1, GrainFinishScale = 2 };

#define NAME(f) f##_avx2
#define TARGET __attribute__((target("avx2,fma"))) static
#define LANES 8
typedef float VF_avx2 __attribute__((vector_size(32)));
typedef float VFU_avx2 __attribute__((vector_size(32), aligned(4)));
typedef int VI_avx2 __attribute__((vector_size(32)));
#define VF VF_avx2
#define VFU VFU_avx2
#define VI VI_avx2
#include "KernelBody.h"
#undef NAME
#undef TARGET
#undef LANES
#undef VF
#undef VFU
#undef VI

#define NAME(f) f##_avx512
#define TARGET __attribute__((target("avx512f,avx512dq"))) static
#define LANES 16
typedef float VF_avx512 __attribute__((vector_size(64)));
typedef float VFU_avx512 __attribute__((vector_size(64), aligned(4)));
typedef int VI_avx512 __attribute__((vector_size(64)));
#define VF VF_avx512
#define VFU VFU_avx512
#define VI VI_avx512
#include "KernelBody.h"
#undef NAME
#undef TARGET
#undef LANES
#undef VF
#undef VFU
#undef VI

static const GrainKernelTable tableAVX2 = {gelu_avx2, geluDerivative_avx2, softmaxRows_avx2, normalize_avx2,
                                           storeFence_avx2, exponentiateRow_avx2};
static const GrainKernelTable tableAVX512 = {gelu_avx512, geluDerivative_avx512, softmaxRows_avx512,
                                             normalize_avx512, storeFence_avx512, exponentiateRow_avx512};

GrainKernelLevel grain_kernels_cpu_level(void) {
    static int level = -1;  // a benign race: every thread computes the same value
    if (level < 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) level = GrainKernelLevelAVX512;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = GrainKernelLevelAVX2;
        else level = GrainKernelLevelPortable;
    }
    return (GrainKernelLevel)level;
}

const GrainKernelTable *grain_kernels_table(GrainKernelLevel level) {
    if (level == GrainKernelLevelPortable || level > grain_kernels_cpu_level()) return NULL;
    return level == GrainKernelLevelAVX512 ? &tableAVX512 : &tableAVX2;
}

#else

GrainKernelLevel grain_kernels_cpu_level(void) { return GrainKernelLevelPortable; }

const GrainKernelTable *grain_kernels_table(GrainKernelLevel level) {
    (void)level;
    return NULL;
}

#endif
