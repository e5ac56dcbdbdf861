/// Shape arithmetic shared by the kernels: element counts, strides, axis normalisation and
/// NumPy broadcasting.
public enum Shape {
    /// Checks that no extent is negative.
    @inlinable public static func validate(_ shape: [Int], op: String) {
        for d in shape where d < 0 {
            preconditionFailure("\(op): negative extent in shape \(shape)")
        }
    }

    /// The number of elements in `shape` (1 for a scalar).
    @inlinable public static func count(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape { n = n &* d }
        return n
    }

    /// Row-major strides of `shape`, in elements.
    @inlinable public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc = acc &* shape[i]
        }
        return s
    }

    /// Maps a possibly negative axis into `0..<rank`.
    ///
    /// - Precondition: `-rank <= axis < rank`.
    @inlinable public static func normalize(axis: Int, rank: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "\(op): axis \(axis) is out of range for rank \(rank)")
        return a
    }

    /// Normalises a list of axes; an empty list means every axis. Duplicates are rejected.
    @inlinable public static func normalize(axes: [Int], rank: Int, op: String) -> [Int] {
        if axes.isEmpty { return Array(0..<rank) }
        let result = axes.map { normalize(axis: $0, rank: rank, op: op) }.sorted()
        for i in 1..<max(result.count, 1) where result[i] == result[i - 1] {
            preconditionFailure("\(op): axis \(result[i]) given twice in \(axes)")
        }
        return result
    }

    /// The NumPy broadcast of two shapes.
    ///
    /// - Precondition: the shapes are broadcast-compatible (each trailing pair of extents is equal
    ///   or one of them is 1).
    public static func broadcast(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 {
                result[i] = da
            } else if da == 1 {
                result[i] = db
            } else {
                preconditionFailure("\(op): shapes \(a) and \(b) cannot be broadcast together")
            }
        }
        return result
    }

    /// Strides for reading a tensor of `shape` as if it had `target` (a broadcast of it): 0 on
    /// broadcast axes.
    public static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        var result = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count where shape[i] != 1 || target[i + offset] == 1 {
            result[i + offset] = shape[i] == 1 ? 0 : own[i]
        }
        return result
    }
}
