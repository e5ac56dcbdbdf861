// The kernels' bodies, written once with Clang's vector extensions and included by Kernels.c
// once per instruction set. Before including, Kernels.c defines:
//   TARGET   the function attribute (`__attribute__((target(...))) static`)
//   NAME(f)  the variant's name for f (e.g. f##_avx2)
//   VF, VI   float and int32 vector types of LANES lanes, VFU the unaligned float vector
//   LANES    the lanes per vector
// The algorithms and constants are those of Tensor's Swift kernels (see the comments there);
// FMA contraction may round a few steps differently, within the stated accuracy.

/// `mask ? a : b`, lane-wise (mask lanes are all ones or all zeros).
TARGET inline VF NAME(select)(VI mask, VF a, VF b) {
    return (VF)((mask & (VI)a) | (~mask & (VI)b));
}

TARGET inline VF NAME(splat)(float v) {
    VF r = {0};
    return r + v;
}

TARGET inline VF NAME(load)(const float *p) { return *(const VFU *)p; }
TARGET inline void NAME(store)(float *p, VF v) { *(VFU *)p = v; }

TARGET inline float NAME(horizontalSum)(VF v) {
    float s = 0;
    for (int i = 0; i < LANES; i++) s += v[i];
    return s;
}

TARGET inline float NAME(horizontalMax)(VF v) {
    float m = v[0];
    for (int i = 1; i < LANES; i++) if (v[i] > m) m = v[i];
    return m;
}

/// `(h, e)` with `h + e = x²/2`, `h` exact (x split after its top 12 significand bits).
TARGET inline void NAME(halfSquareSplit)(VF x, VF *square, VF *error) {
    VF high = (VF)((VI)x & (int)0xFFFFF000);
    VF low = x - high;
    *square = 0.5f * (high * high);
    *error = 0.5f * (low * (x + high));
}

/// `e^(s + c)` for an exact `s` and a small correction `c`; 0 where `s + c < −87.3`.
TARGET inline VF NAME(exponential)(VF s, VF c) {
    VF a = s + c;
    VF shifted = a * 1.4426950408889634f + 12582912.0f;
    VF n = shifted - 12582912.0f;
    VF r = ((s - n * 0.693359375f) - n * -2.12194440e-4f) + c;
    VF p = NAME(splat)(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    VF expR = p * (r * r) + r + 1.0f;
    VI nBits = (VI)shifted - 0x4B400000;
    VF scale = (VF)((nBits + 127) << 23);
    return NAME(select)(a < -87.3f, NAME(splat)(0), expR * scale);
}

/// Φ(x), the standard normal CDF: ½·erfc(|x|/√2) for x < 0, 1 − ½·erfc(x/√2) otherwise.
TARGET inline VF NAME(normalCDF)(VF x) {
    VF magnitude = (VF)((VI)x & 0x7FFFFFFF);
    VF capped = NAME(select)(magnitude > 20.0f, NAME(splat)(20), magnitude);
    VF z = capped * 0.70710678118654752f;
    VF t = 1.0f / (1.0f + 0.5f * z);
    VF p = NAME(splat)(0.17087277f);
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    VF square, squareError;
    NAME(halfSquareSplit)(capped, &square, &squareError);
    VF halfTail = 0.5f * t * NAME(exponential)(-square, p - squareError);
    return NAME(select)(x >= 0.0f, 1.0f - halfTail, halfTail);
}

TARGET inline VF NAME(geluVector)(VF x) { return x * NAME(normalCDF)(x); }

TARGET inline VF NAME(geluDerivativeVector)(VF x) {
    VF square, squareError;
    NAME(halfSquareSplit)(x, &square, &squareError);
    VF density = NAME(exponential)(-square, -squareError) * 0.3989422804014327f;
    return NAME(normalCDF)(x) + x * density;
}

/// `eˣ` for `x ≤ 0` (Cephes' `expf`, as Tensor's `exponentialOfNonPositive`): below ln(FLT_MIN)
/// (including −∞) 0, NaN stays NaN, positive arguments are treated as 0.
TARGET inline VF NAME(exponentialOfNonPositive)(VF x) {
    const float lowest = -87.33654f;
    VF clamped = NAME(select)(x < lowest, NAME(splat)(lowest), x);
    clamped = NAME(select)(x > 0.0f, NAME(splat)(0), clamped);
    VF shifted = clamped * 1.44269504f + 12582912.0f;
    VF k = shifted - 12582912.0f;
    VF r = clamped - k * 0.693359375f + k * 2.12194440e-4f;
    VF p = NAME(splat)(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    VI exponent = (VI)shifted - (0x4B400000 - 127);
    VF result = p * (VF)(exponent << 23);
    return NAME(select)(x < lowest, NAME(splat)(0), result);
}

/// `body` over `count` floats from `x` into `y`, one padded vector: the head and tail paths.
#define GRAIN_PADDED_VECTOR(x, y, count, body)                                      \
    do {                                                                            \
        float in_[LANES] = {0}, out_[LANES];                                        \
        for (long k_ = 0; k_ < (count); k_++) in_[k_] = (x)[k_];                    \
        NAME(store)(out_, body(NAME(load)(in_)));                                   \
        for (long k_ = 0; k_ < (count); k_++) (y)[k_] = out_[k_];                   \
    } while (0)

/// Applies `body` to whole vectors, two at a time (independent chains), then to the tail padded
/// with zeros. With `streaming` (outputs far larger than the caches) the vector-aligned part is
/// written with non-temporal stores: the lines would be evicted before use anyway, and streaming
/// skips reading each output line from memory before it is overwritten.
#define GRAIN_FOR_EACH_VECTOR(x, y, count, streaming, body)                        \
    do {                                                                            \
        long i_ = 0;                                                                \
        if (streaming) {                                                            \
            long head_ = (long)(((sizeof(VF) - ((unsigned long)(y) % sizeof(VF))) % sizeof(VF)) / sizeof(float)); \
            if (head_ > (count)) head_ = (count);                                   \
            if (head_ > 0) GRAIN_PADDED_VECTOR(x, y, head_, body);                  \
            for (i_ = head_; i_ + 2 * LANES <= (count); i_ += 2 * LANES) {          \
                VF a_ = NAME(load)((x) + i_), b_ = NAME(load)((x) + i_ + LANES);    \
                __builtin_nontemporal_store(body(a_), (VF *)((y) + i_));            \
                __builtin_nontemporal_store(body(b_), (VF *)((y) + i_ + LANES));    \
            }                                                                       \
            __builtin_ia32_sfence();                                                \
        }                                                                           \
        for (; i_ + 2 * LANES <= (count); i_ += 2 * LANES) {                        \
            VF a_ = NAME(load)((x) + i_), b_ = NAME(load)((x) + i_ + LANES);        \
            NAME(store)((y) + i_, body(a_));                                        \
            NAME(store)((y) + i_ + LANES, body(b_));                                \
        }                                                                           \
        for (; i_ + LANES <= (count); i_ += LANES)                                  \
            NAME(store)((y) + i_, body(NAME(load)((x) + i_)));                      \
        if (i_ < (count)) GRAIN_PADDED_VECTOR((x) + i_, (y) + i_, (count) - i_, body); \
    } while (0)

TARGET void NAME(gelu)(const float *x, float *y, long count, int streaming) {
    GRAIN_FOR_EACH_VECTOR(x, y, count, streaming, NAME(geluVector));
}

TARGET void NAME(geluDerivative)(const float *x, float *y, long count, int streaming) {
    GRAIN_FOR_EACH_VECTOR(x, y, count, streaming, NAME(geluDerivativeVector));
}

/// The largest of `n ≥ 1` floats, ignoring NaN; −∞ when all are −∞.
TARGET inline float NAME(rowMaximum)(const float *x, long n) {
    long j = 0;
    float m = x[0];
    if (n >= LANES) {
        VF acc = NAME(load)(x);
        for (j = LANES; j + LANES <= n; j += LANES) {
            VF v = NAME(load)(x + j);
            acc = NAME(select)(v > acc, v, acc);
        }
        m = NAME(horizontalMax)(acc);
    }
    for (; j < n; j++) if (x[j] > m) m = x[j];
    return m;
}

/// `y[j] = exp(x[j] − shift)` (when `y` is not NULL) and returns the sum of those values.
TARGET inline float NAME(exponentiate)(const float *x, float shift, float *y, long n) {
    VF acc0 = NAME(splat)(0), acc1 = NAME(splat)(0);
    long j = 0;
    for (; j + 2 * LANES <= n; j += 2 * LANES) {
        VF e0 = NAME(exponentialOfNonPositive)(NAME(load)(x + j) - shift);
        VF e1 = NAME(exponentialOfNonPositive)(NAME(load)(x + j + LANES) - shift);
        if (y) { NAME(store)(y + j, e0); NAME(store)(y + j + LANES, e1); }
        acc0 += e0;
        acc1 += e1;
    }
    for (; j < n; j += LANES) {
        // A padded vector: −∞ lanes contribute exp(−∞) = 0 to the sum.
        float in_[LANES], out_[LANES];
        long width = n - j < LANES ? n - j : LANES;
        for (long k = 0; k < LANES; k++) in_[k] = k < width ? x[j + k] : -__builtin_inff();
        VF e = NAME(exponentialOfNonPositive)(NAME(load)(in_) - shift);
        NAME(store)(out_, e);
        if (y) for (long k = 0; k < width; k++) y[j + k] = out_[k];
        acc0 += e;
    }
    return NAME(horizontalSum)(acc0 + acc1);
}

/// The final value of a softmax row element: `exp(x − m)·s` (`GrainFinishExponential`),
/// `(x − m) − s` (log-softmax) or `x·s` (`x` already exponentiated).
TARGET inline VF NAME(softmaxValue)(VF x, float m, float s, int mode) {
    if (mode == GrainFinishLogarithm) return (x - m) - s;
    if (mode == GrainFinishScale) return x * s;
    return NAME(exponentialOfNonPositive)(x - m) * s;
}

/// Writes a row's final values `softmaxValue(x)` into `y`; with `streaming`, through non-temporal
/// stores on the vector-aligned part (unaligned head and tail through a padded vector).
TARGET inline void NAME(softmaxFinish)(const float *x, float *y, long n, float m, float s, int mode,
                                       int streaming) {
    long j = 0;
    if (streaming) {
        long head = (long)(((sizeof(VF) - ((unsigned long)y % sizeof(VF))) % sizeof(VF)) / sizeof(float));
        if (head > n) head = n;
        for (; j < head; j += LANES) {
            float in_[LANES] = {0}, out_[LANES];
            long width = head - j < LANES ? head - j : LANES;
            for (long k = 0; k < width; k++) in_[k] = x[j + k];
            NAME(store)(out_, NAME(softmaxValue)(NAME(load)(in_), m, s, mode));
            for (long k = 0; k < width; k++) y[j + k] = out_[k];
        }
        j = head;
        for (; j + LANES <= n; j += LANES)
            __builtin_nontemporal_store(NAME(softmaxValue)(NAME(load)(x + j), m, s, mode), (VF *)(y + j));
    } else {
        for (; j + LANES <= n; j += LANES) NAME(store)(y + j, NAME(softmaxValue)(NAME(load)(x + j), m, s, mode));
    }
    if (j < n) {
        float in_[LANES] = {0}, out_[LANES];
        for (long k = 0; k < n - j; k++) in_[k] = x[j + k];
        NAME(store)(out_, NAME(softmaxValue)(NAME(load)(in_), m, s, mode));
        for (long k = 0; k < n - j; k++) y[j + k] = out_[k];
    }
}

/// Rows up to this long are exponentiated into a stack buffer when streaming.
#define GRAIN_SOFTMAX_SCRATCH 8192

TARGET void NAME(softmaxRows)(const float *x, float *y, long rows, long n, int logarithm, int streaming) {
    // Streaming: the exponentials go to a cache-resident scratch row (or, for longer rows, are
    // recomputed), and the final values are streamed out: y is written once, never read.
    float scratch[GRAIN_SOFTMAX_SCRATCH];
    for (long row = 0; row < rows; row++) {
        const float *xr = x + row * n;
        float *yr = y + row * n;
        float m = NAME(rowMaximum)(xr, n);
        if (logarithm) {
            float logSum = __builtin_logf(NAME(exponentiate)(xr, m, 0, n));
            NAME(softmaxFinish)(xr, yr, n, m, logSum, GrainFinishLogarithm, streaming);
        } else if (streaming && n <= GRAIN_SOFTMAX_SCRATCH) {
            float scale = 1.0f / NAME(exponentiate)(xr, m, scratch, n);
            NAME(softmaxFinish)(scratch, yr, n, 0, scale, GrainFinishScale, 1);
        } else if (streaming) {
            NAME(softmaxFinish)(xr, yr, n, m, 1.0f / NAME(exponentiate)(xr, m, 0, n), GrainFinishExponential, 1);
        } else {
            float scale = 1.0f / NAME(exponentiate)(xr, m, yr, n);
            long j = 0;
            for (; j + LANES <= n; j += LANES) NAME(store)(yr + j, NAME(load)(yr + j) * scale);
            for (; j < n; j++) yr[j] *= scale;
        }
    }
    if (streaming) __builtin_ia32_sfence();
}

/// `y[j] = exp(x[j] − shift)` for `j < count` (`x ≤ shift` expected; `y` may be `x`), returning
/// the sum of those values: the entry point for Tensor's `exponentiate` (attention, losses).
TARGET float NAME(exponentiateRow)(const float *x, float shift, float *y, long count) {
    return count > 0 ? NAME(exponentiate)(x, shift, y, count) : 0.0f;
}

/// `y[j] = (x[j] − m − mLow)·r·γ[j] + β[j]` for `j < count` (layer norm's normalise pass), through
/// non-temporal stores on the vector-aligned part when `streaming`.
TARGET void NAME(normalize)(const float *x, float *y, const float *weight, const float *bias, long count,
                            float mean, float meanCorrection, float inverseDeviation, int streaming) {
#pragma clang fp contract(off)  // the same roundings as Tensor's Swift loop: bit-identical results
    long j = 0;
    if (streaming) {
        long head = (long)(((sizeof(VF) - ((unsigned long)y % sizeof(VF))) % sizeof(VF)) / sizeof(float));
        if (head > count) head = count;
        for (; j < head; j++) y[j] = (x[j] - mean - meanCorrection) * inverseDeviation * weight[j] + bias[j];
        for (; j + LANES <= count; j += LANES) {
            VF v = (NAME(load)(x + j) - mean - meanCorrection) * inverseDeviation * NAME(load)(weight + j) + NAME(load)(bias + j);
            __builtin_nontemporal_store(v, (VF *)(y + j));
        }
    } else {
        for (; j + LANES <= count; j += LANES)
            NAME(store)(y + j, (NAME(load)(x + j) - mean - meanCorrection) * inverseDeviation * NAME(load)(weight + j)
                                   + NAME(load)(bias + j));
    }
    for (; j < count; j++) y[j] = (x[j] - mean - meanCorrection) * inverseDeviation * weight[j] + bias[j];
}

/// Orders this thread's non-temporal stores before what follows (call after a batch of
/// streaming `normalize` calls).
TARGET void NAME(storeFence)(void) { __builtin_ia32_sfence(); }

#undef GRAIN_FOR_EACH_VECTOR
#undef GRAIN_PADDED_VECTOR
#undef GRAIN_SOFTMAX_SCRATCH
