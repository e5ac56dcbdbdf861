import Tensor

/// The 30 SRM high-pass residual filters of Fridrich & Kodovský, "Rich Models for Steganalysis
/// of Digital Images" (IEEE TIFS 2012), each scaled so that its centre tap is −1, and 3×3 ones
/// zero-padded to 5×5. The order is that of the Beyond Generation release (`group1.hpf.weight`):
///
/// - 0–7: first order, `x(neighbour) − x(centre)` for the 8 neighbours in raster order;
/// - 8–11: second order `½(x₋ + x₊) − x` along the ↘, ↓, ↙ and → lines;
/// - 12–19: third order `(−x₋₂ + 3x₋₁ − 3x₀ + x₊₁)/3` in the 8 directions;
/// - 20–23: the 3×3 EDGE filters (halves of the 3×3 KV kernel): top, right, bottom, left;
/// - 24–27: the 5×5 EDGE filters (halves of the 5×5 KV kernel): top, right, bottom, left;
/// - 28: the 3×3 SQUARE (KV) filter; 29: the 5×5 SQUARE (KV) filter.
public enum SRMFilters {
    /// The filters, `[30, 1, 5, 5]`.
    public static func weight() -> Tensor {
        Tensor(shape: [30, 1, 5, 5], scalars: kernels().flatMap { $0.map(Float.init) })
    }

    /// The filters as 30 row-major 5×5 arrays in double precision.
    public static func kernels() -> [[Double]] {
        var result: [[Double]] = []
        func kernel(_ taps: [((Int, Int), Double)]) -> [Double] {
            var k = [Double](repeating: 0, count: 25)
            for ((dy, dx), v) in taps { k[(dy + 2) * 5 + (dx + 2)] += v }
            return k
        }
        // First order: one neighbour minus the centre.
        let neighbours = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
        for n in neighbours { result.append(kernel([(n, 1), ((0, 0), -1)])) }
        // Second order along four lines.
        for d in [(1, 1), (1, 0), (1, -1), (0, 1)] {
            result.append(kernel([((-d.0, -d.1), 0.5), ((0, 0), -1), ((d.0, d.1), 0.5)]))
        }
        // Third order in eight directions: taps at −2d, −d, 0, +d.
        for d in [(1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1)] {
            result.append(kernel([((-2 * d.0, -2 * d.1), -1.0 / 3), ((-d.0, -d.1), 1), ((0, 0), -1), ((d.0, d.1), 1.0 / 3)]))
        }
        // The KV kernels, scaled to a −1 centre.
        let kv3: [[Double]] = [[-1, 2, -1], [2, -4, 2], [-1, 2, -1]].map { $0.map { $0 / 4 } }
        let kv5: [[Double]] = [[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2],
                               [2, -6, 8, -6, 2], [-1, 2, -2, 2, -1]].map { $0.map { $0 / 12 } }
        func embed(_ m: [[Double]], keep: (Int, Int) -> Bool) -> [Double] {
            let r = m.count / 2
            var taps: [((Int, Int), Double)] = []
            for (i, row) in m.enumerated() {
                for (j, v) in row.enumerated() where keep(i - r, j - r) { taps.append(((i - r, j - r), v)) }
            }
            return kernel(taps)
        }
        // EDGE: the half (with the centre line) above, right of, below and left of the centre.
        let halves: [(Int, Int) -> Bool] = [{ y, _ in y <= 0 }, { _, x in x >= 0 }, { y, _ in y >= 0 }, { _, x in x <= 0 }]
        for keep in halves { result.append(embed(kv3, keep: keep)) }
        for keep in halves { result.append(embed(kv5, keep: keep)) }
        result.append(embed(kv3) { _, _ in true })
        result.append(embed(kv5) { _, _ in true })
        return result
    }
}

/// The fixed SRM bank applied to each colour channel separately (no bias, padding 2), the
/// first stage of the extractor. Checkpoint key: `hpf.weight` (`[30, 1, 5, 5]`), frozen.
///
/// Shapes: `[P, C, H, W] → [P, 30·C, H, W]`, channel-major (channel c, filter f → `c·30 + f`).
public final class HighPassFilterBank: Module, Layer, @unchecked Sendable {
    /// The filter convolution, frozen.
    public let highPass: Conv2d

    /// Creates the bank holding the published SRM filters.
    public override init() {
        highPass = Conv2d(weight: SRMFilters.weight(), bias: nil, padding: 2)
        highPass.setTrainable(false)
        super.init()
    }

    /// `hpf`.
    public override var children: [(String, Module)] { [("hpf", highPass)] }

    /// Filters each channel of `input` `[P, C, H, W]` with all 30 filters.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 4, "HighPassFilterBank: input must be [P, C, H, W], got \(input.shape)")
        let (p, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let filters = highPass.weight.shape[0]
        return highPass(input.reshaped([p * c, 1, h, w])).reshaped([p, c * filters, h, w])
    }
}
