// Short-row loops shared by the convolution kernels: scaled adds (col2im, depthwise), vector row
// copies (shifted windows) and strided dot products (depthwise weight gradient).

extension Tensor {
    /// `y[i·yStride] += a · x[i·xStride]` for `i < count`; the unit-stride case vectorises.
    @inline(__always)
    static func addScaled(_ a: Float, _ x: UnsafePointer<Float>, stride xStride: Int,
                          into y: UnsafeMutablePointer<Float>, stride yStride: Int, count: Int) {
        guard count > 0 else { return }
        if xStride == 1 && yStride == 1 {
            for i in 0..<count { y[i] += a * x[i] }
        } else {
            var i = 0, xi = 0, yi = 0
            while i < count { y[yi] += a * x[xi]; i &+= 1; xi &+= xStride; yi &+= yStride }
        }
    }

    /// Copies `count` floats with vector loads and stores: the rows of small images (16 floats
    /// for the extractor's patches) are too short for a `memmove` call to pay for itself.
    @inline(__always)
    static func copyRow(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 4 <= count {
            UnsafeMutableRawPointer(target + i).storeBytes(of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD4<Float>.self),
                                                          as: SIMD4<Float>.self)
            i &+= 4
        }
        while i < count { target[i] = source[i]; i &+= 1 }
    }

    /// `Σ a[i] · b[i·bStride]` for `i < count`, with SIMD accumulators when `bStride == 1`.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, stride bStride: Int, count: Int) -> Float {
        guard count > 0 else { return 0 }
        var i = 0, s: Float = 0
        if bStride == 1 {
            var accumulator = SIMD8<Float>()
            let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
            while i &+ 8 <= count {
                accumulator += ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
                    * rb.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
                i &+= 8
            }
            s = accumulator.sum()
        }
        while i < count { s += a[i] * b[i &* bStride]; i &+= 1 }
        return s
    }
}
