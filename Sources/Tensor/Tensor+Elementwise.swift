import Foundation

// Element-wise arithmetic with NumPy broadcasting, and the unary math functions.
// Forward kernels and pullbacks side by side.

/// A function of two elements whose type fixes it at compile time. Kernels generic over it are
/// specialised per function, so the call inlines and the loop vectorises; a closure captured by
/// the parallel loop body would instead be called indirectly for every element.
@usableFromInline
protocol BinaryElementFunction {
    func callAsFunction(_ x: Float, _ y: Float) -> Float
}

/// A function of one element, fixed at compile time (see ``BinaryElementFunction``).
@usableFromInline
protocol UnaryElementFunction {
    func callAsFunction(_ x: Float) -> Float
}

/// Wraps a closure as a ``BinaryElementFunction`` (called indirectly, not vectorised).
@usableFromInline
struct ClosureBinaryFunction: BinaryElementFunction {
    @usableFromInline let body: (Float, Float) -> Float
    @inlinable init(_ body: @escaping (Float, Float) -> Float) { self.body = body }
    @inlinable func callAsFunction(_ x: Float, _ y: Float) -> Float { body(x, y) }
}

/// Wraps a closure as a ``UnaryElementFunction`` (called indirectly, not vectorised).
@usableFromInline
struct ClosureUnaryFunction: UnaryElementFunction {
    @usableFromInline let body: (Float) -> Float
    @inlinable init(_ body: @escaping (Float) -> Float) { self.body = body }
    @inlinable func callAsFunction(_ x: Float) -> Float { body(x) }
}

/// `x + y`.
@usableFromInline struct AddFunction: BinaryElementFunction {
    @inlinable init() {}
    @inlinable func callAsFunction(_ x: Float, _ y: Float) -> Float { x + y }
}
/// `x − y`.
@usableFromInline struct SubtractFunction: BinaryElementFunction {
    @inlinable init() {}
    @inlinable func callAsFunction(_ x: Float, _ y: Float) -> Float { x - y }
}
/// `x · y`.
@usableFromInline struct MultiplyFunction: BinaryElementFunction {
    @inlinable init() {}
    @inlinable func callAsFunction(_ x: Float, _ y: Float) -> Float { x * y }
}
/// `x / y`.
@usableFromInline struct DivideFunction: BinaryElementFunction {
    @inlinable init() {}
    @inlinable func callAsFunction(_ x: Float, _ y: Float) -> Float { x / y }
}
/// `x + s`.
@usableFromInline struct AddScalarFunction: UnaryElementFunction {
    @usableFromInline let scalar: Float
    @inlinable init(_ scalar: Float) { self.scalar = scalar }
    @inlinable func callAsFunction(_ x: Float) -> Float { x + scalar }
}
/// `s − x`.
@usableFromInline struct SubtractFromScalarFunction: UnaryElementFunction {
    @usableFromInline let scalar: Float
    @inlinable init(_ scalar: Float) { self.scalar = scalar }
    @inlinable func callAsFunction(_ x: Float) -> Float { scalar - x }
}
/// `x · s`.
@usableFromInline struct MultiplyScalarFunction: UnaryElementFunction {
    @usableFromInline let scalar: Float
    @inlinable init(_ scalar: Float) { self.scalar = scalar }
    @inlinable func callAsFunction(_ x: Float) -> Float { x * scalar }
}
/// `x / s`.
@usableFromInline struct DivideByScalarFunction: UnaryElementFunction {
    @usableFromInline let scalar: Float
    @inlinable init(_ scalar: Float) { self.scalar = scalar }
    @inlinable func callAsFunction(_ x: Float) -> Float { x / scalar }
}
/// `s / x`.
@usableFromInline struct DivideScalarByFunction: UnaryElementFunction {
    @usableFromInline let scalar: Float
    @inlinable init(_ scalar: Float) { self.scalar = scalar }
    @inlinable func callAsFunction(_ x: Float) -> Float { scalar / x }
}
/// `−x`.
@usableFromInline struct NegateFunction: UnaryElementFunction {
    @inlinable init() {}
    @inlinable func callAsFunction(_ x: Float) -> Float { -x }
}

extension Tensor {
    /// Applies `f` element-wise to two broadcast-compatible tensors (no autodiff).
    @inlinable
    public static func broadcastMap(_ a: Tensor, _ b: Tensor, op: String,
                                    _ f: (Float, Float) -> Float) -> Tensor {
        withoutActuallyEscaping(f) { f in broadcastApply(a, b, op: op, ClosureBinaryFunction(f)) }
    }

    /// Applies `f` to each element (no autodiff).
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        withoutActuallyEscaping(f) { f in apply(ClosureUnaryFunction(f)) }
    }

    /// Applies `f` to each element, in parallel chunks (no autodiff).
    @inlinable
    func apply<F: UnaryElementFunction>(_ f: F) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let pa = storage.baseAddress
        let po = SendablePointer(out.storage.baseAddress)
        Parallel.forRanges(count) { s, e in
            var i = s
            while i < e { po.pointer[i] = f(pa[i]); i &+= 1 }
        }
        return out
    }

    /// Applies `f` element-wise to two broadcast-compatible tensors (no autodiff), in parallel.
    ///
    /// Equal shapes and single-element operands take flat loops. Otherwise the broadcast shape is
    /// simplified first: extent-1 axes are dropped and neighbouring axes that both operands step
    /// through contiguously (or both broadcast) are merged, so `[N, C, H, W] + [C, 1, 1]` becomes
    /// rows of `H·W` against one scalar each. Rows are then split across cores, each row a
    /// contiguous, scalar-broadcast or strided inner loop.
    @inlinable
    static func broadcastApply<F: BinaryElementFunction>(_ a: Tensor, _ b: Tensor, op: String, _ f: F) -> Tensor {
        let pa = a.storage.baseAddress, pb = b.storage.baseAddress
        if a.shape == b.shape {
            let out = Tensor(uninitializedShape: a.shape)
            let po = SendablePointer(out.storage.baseAddress)
            Parallel.forRanges(a.count) { s, e in
                var i = s
                while i < e { po.pointer[i] = f(pa[i], pb[i]); i &+= 1 }
            }
            return out
        }
        let shape = Shape.broadcast(a.shape, b.shape, op: op)
        let out = Tensor(uninitializedShape: shape)
        let po = SendablePointer(out.storage.baseAddress)
        if b.count == 1 && shape == a.shape {
            let s = pb[0]
            Parallel.forRanges(a.count) { st, e in
                var i = st
                while i < e { po.pointer[i] = f(pa[i], s); i &+= 1 }
            }
            return out
        }
        if a.count == 1 && shape == b.shape {
            let s = pa[0]
            Parallel.forRanges(b.count) { st, e in
                var i = st
                while i < e { po.pointer[i] = f(s, pb[i]); i &+= 1 }
            }
            return out
        }
        if out.count == 0 { return out }
        // Simplify the iteration space: drop extent-1 axes, merge contiguous neighbours.
        let fullA = Shape.broadcastStrides(a.shape, to: shape), fullB = Shape.broadcastStrides(b.shape, to: shape)
        var extents: [Int] = [], stridesA: [Int] = [], stridesB: [Int] = []
        for d in 0..<shape.count where shape[d] != 1 {
            if !extents.isEmpty, stridesA[stridesA.count - 1] == fullA[d] &* shape[d],
               stridesB[stridesB.count - 1] == fullB[d] &* shape[d] {
                extents[extents.count - 1] = extents[extents.count - 1] &* shape[d]
                stridesA[stridesA.count - 1] = fullA[d]
                stridesB[stridesB.count - 1] = fullB[d]
            } else {
                extents.append(shape[d]); stridesA.append(fullA[d]); stridesB.append(fullB[d])
            }
        }
        if extents.isEmpty { po.pointer[0] = f(pa[0], pb[0]); return out }
        let rank = extents.count
        let inner = extents[rank - 1], ia = stridesA[rank - 1], ib = stridesB[rank - 1]
        let rows = out.count / inner
        Parallel.forRanges(rows, minimumChunk: Swift.max(1, (1 << 15) / inner)) { rowStart, rowEnd in
            // The odometer over the outer axes, started at `rowStart`.
            var index = [Int](repeating: 0, count: rank)
            var offA = 0, offB = 0, remainder = rowStart
            var d = rank - 2
            while d >= 0 {
                index[d] = remainder % extents[d]; remainder /= extents[d]
                offA &+= index[d] &* stridesA[d]; offB &+= index[d] &* stridesB[d]
                d -= 1
            }
            for row in rowStart..<rowEnd {
                let o = po.pointer + row &* inner
                let ra = pa + offA, rb = pb + offB
                var j = 0
                if ia == 1 && ib == 1 {
                    while j < inner { o[j] = f(ra[j], rb[j]); j &+= 1 }
                } else if ia == 1 && ib == 0 {
                    let y = rb[0]
                    while j < inner { o[j] = f(ra[j], y); j &+= 1 }
                } else if ia == 0 && ib == 1 {
                    let x = ra[0]
                    while j < inner { o[j] = f(x, rb[j]); j &+= 1 }
                } else {
                    var xa = 0, xb = 0
                    while j < inner { o[j] = f(ra[xa], rb[xb]); xa &+= ia; xb &+= ib; j &+= 1 }
                }
                var d = rank - 2
                while d >= 0 {
                    index[d] &+= 1
                    offA &+= stridesA[d]; offB &+= stridesB[d]
                    if index[d] < extents[d] { break }
                    offA &-= stridesA[d] &* extents[d]; offB &-= stridesB[d] &* extents[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
        return out
    }

    /// Sum `a + b` with broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastApply(a, b, op: "add", AddFunction())
        return record("add", out, inputs: [a, b]) { g in
            [a.requiresGradient ? unbroadcast(g, to: a.shape) : nil,
             b.requiresGradient ? unbroadcast(g, to: b.shape) : nil]
        }
    }

    /// Difference `a − b` with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastApply(a, b, op: "subtract", SubtractFunction())
        return record("subtract", out, inputs: [a, b]) { g in
            [a.requiresGradient ? unbroadcast(g, to: a.shape) : nil,
             b.requiresGradient ? unbroadcast(-g, to: b.shape) : nil]
        }
    }

    /// Product `a ⊙ b` with broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastApply(a, b, op: "multiply", MultiplyFunction())
        return record("multiply", out, inputs: [a, b]) { g in
            [a.requiresGradient ? unbroadcast(g * b, to: a.shape) : nil,
             b.requiresGradient ? unbroadcast(g * a, to: b.shape) : nil]
        }
    }

    /// Quotient `a ⊘ b` with broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastApply(a, b, op: "divide", DivideFunction())
        return record("divide", out, inputs: [a, b]) { g in
            [a.requiresGradient ? unbroadcast(g / b, to: a.shape) : nil,
             b.requiresGradient ? unbroadcast(-(g * a) / (b * b), to: b.shape) : nil]
        }
    }

    /// Negation.
    public static prefix func - (a: Tensor) -> Tensor {
        let out = a.apply(NegateFunction())
        return record("negate", out, inputs: [a]) { g in [-g] }
    }

    /// `a + s`.
    public static func + (a: Tensor, s: Float) -> Tensor {
        let out = a.apply(AddScalarFunction(s))
        return record("addScalar", out, inputs: [a]) { g in [g] }
    }
    /// `s + a`.
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    /// `a − s`.
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    /// `s − a`.
    public static func - (s: Float, a: Tensor) -> Tensor {
        let out = a.apply(SubtractFromScalarFunction(s))
        return record("subtractFromScalar", out, inputs: [a]) { g in [-g] }
    }
    /// `a · s`.
    public static func * (a: Tensor, s: Float) -> Tensor {
        let out = a.apply(MultiplyScalarFunction(s))
        return record("multiplyScalar", out, inputs: [a]) { g in [g * s] }
    }
    /// `s · a`.
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    /// `a / s`.
    public static func / (a: Tensor, s: Float) -> Tensor {
        let out = a.apply(DivideByScalarFunction(s))
        return record("divideScalar", out, inputs: [a]) { g in [g / s] }
    }
    /// `s / a`.
    public static func / (s: Float, a: Tensor) -> Tensor {
        let out = a.apply(DivideScalarByFunction(s))
        return record("divideScalarBy", out, inputs: [a]) { g in [-(g * out) / a] }
    }

    /// `a += b` (records like `a + b`).
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    /// `a -= b` (records like `a - b`).
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    /// `a *= b` (records like `a * b`).
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
    /// `a /= b` (records like `a / b`).
    public static func /= (a: inout Tensor, b: Tensor) { a = a / b }

    /// Element-wise absolute value; its gradient is `sign(x)` (0 at 0, as PyTorch).
    public func abs() -> Tensor {
        let x = self
        let out = map { Swift.abs($0) }
        return Tensor.record("abs", out, inputs: [x]) { g in
            [g * x.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }]
        }
    }

    /// Element-wise `eˣ`.
    public func exp() -> Tensor {
        let out = map { Foundation.exp($0) }
        return Tensor.record("exp", out, inputs: [self]) { g in [g * out] }
    }

    /// Element-wise natural logarithm.
    public func log() -> Tensor {
        let x = self
        let out = map { Foundation.log($0) }
        return Tensor.record("log", out, inputs: [x]) { g in [g / x] }
    }

    /// Element-wise square root.
    public func sqrt() -> Tensor {
        let out = map { $0.squareRoot() }
        return Tensor.record("sqrt", out, inputs: [self]) { g in [g / (2 * out)] }
    }

    /// Element-wise `1/√x`.
    public func rsqrt() -> Tensor {
        let out = map { 1 / $0.squareRoot() }
        return Tensor.record("rsqrt", out, inputs: [self]) { g in [g * out * out * out * -0.5] }
    }

    /// Element-wise `x²`.
    public func square() -> Tensor {
        let x = self
        let out = map { $0 * $0 }
        return Tensor.record("square", out, inputs: [x]) { g in [g * x * 2] }
    }

    /// Element-wise power `xᵖ` with a scalar exponent.
    public func pow(_ exponent: Float) -> Tensor {
        let x = self
        let out = map { Foundation.pow($0, exponent) }
        return Tensor.record("pow", out, inputs: [x]) { g in
            [g * x.map { exponent * Foundation.pow($0, exponent - 1) }]
        }
    }

    /// Element-wise power `aᵇ` with broadcasting. The gradient with respect to `b` is
    /// `aᵇ · ln a` and is taken where `a > 0` (0 elsewhere, as PyTorch for `a = 0`).
    public static func pow(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastMap(a, b, op: "pow") { Foundation.pow($0, $1) }
        return record("powTensor", out, inputs: [a, b]) { g in
            [a.requiresGradient
                ? unbroadcast(g * broadcastMap(a, b, op: "pow") { $1 * Foundation.pow($0, $1 - 1) }, to: a.shape) : nil,
             b.requiresGradient
                ? unbroadcast(g * broadcastMap(out, a, op: "pow") { $1 > 0 ? $0 * Foundation.log($1) : 0 }, to: b.shape) : nil]
        }
    }

    /// Clamps every element into `[minimum, maximum]`; the gradient passes where the element is
    /// inside the closed interval (as PyTorch's `clamp`).
    public func clamped(min minimum: Float = -.infinity, max maximum: Float = .infinity) -> Tensor {
        precondition(!(minimum > maximum), "clamped: min \(minimum) is greater than max \(maximum)")
        let x = self
        let out = map { Swift.min(Swift.max($0, minimum), maximum) }
        return Tensor.record("clamp", out, inputs: [x]) { g in
            [g * x.map { $0 >= minimum && $0 <= maximum ? 1 : 0 }]
        }
    }

    /// Element-wise minimum with broadcasting; ties split the gradient evenly (as PyTorch).
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastMap(a, b, op: "minimum") { Swift.min($0, $1) }
        return record("minimum", out, inputs: [a, b]) { g in
            let wa = broadcastMap(a, b, op: "minimum") { $0 < $1 ? 1 : ($0 == $1 ? 0.5 : 0) }
            return [a.requiresGradient ? unbroadcast(g * wa, to: a.shape) : nil,
                    b.requiresGradient ? unbroadcast(g * (1 - wa), to: b.shape) : nil]
        }
    }

    /// Element-wise maximum with broadcasting; ties split the gradient evenly (as PyTorch).
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastMap(a, b, op: "maximum") { Swift.max($0, $1) }
        return record("maximum", out, inputs: [a, b]) { g in
            let wa = broadcastMap(a, b, op: "maximum") { $0 > $1 ? 1 : ($0 == $1 ? 0.5 : 0) }
            return [a.requiresGradient ? unbroadcast(g * wa, to: a.shape) : nil,
                    b.requiresGradient ? unbroadcast(g * (1 - wa), to: b.shape) : nil]
        }
    }

    /// Chooses element-wise between `a` (where `condition` is non-zero) and `b`, with
    /// broadcasting over all three; the condition receives no gradient.
    public static func select(where condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = Shape.broadcast(Shape.broadcast(condition.shape, a.shape, op: "select"), b.shape, op: "select")
        let mask = broadcastMap(condition, Tensor(repeating: 0, shape: shape), op: "select") { c, _ in c != 0 ? 1 : 0 }
        let ea = broadcastMap(a, mask, op: "select") { x, _ in x }
        let eb = broadcastMap(b, mask, op: "select") { x, _ in x }
        var out = Tensor(uninitializedShape: shape)
        let pm = mask.storage.baseAddress, pa = ea.storage.baseAddress, pb = eb.storage.baseAddress
        let po = out.storage.baseAddress
        for i in 0..<out.count { po[i] = pm[i] != 0 ? pa[i] : pb[i] }
        out.shape = shape
        return record("select", out, inputs: [a, b]) { g in
            [a.requiresGradient ? unbroadcast(g * mask, to: a.shape) : nil,
             b.requiresGradient ? unbroadcast(g * (1 - mask), to: b.shape) : nil]
        }
    }

    /// 1 where the element is greater than `value`, else 0 (no gradient).
    public func greater(than value: Float) -> Tensor { detached().map { $0 > value ? 1 : 0 } }
    /// 1 where the element is less than `value`, else 0 (no gradient).
    public func less(than value: Float) -> Tensor { detached().map { $0 < value ? 1 : 0 } }

    /// Whether every element is finite (no NaN, no infinity).
    public var isFinite: Bool {
        withUnsafeBufferPointer { $0.allSatisfy { $0.isFinite } }
    }
}
