/// A seeded, reproducible pseudo-random generator: xoshiro256** (Blackman & Vigna, 2018) with
/// its 256-bit state filled from the seed by SplitMix64, as its authors recommend.
///
/// Grain never draws from a global generator: every function that needs randomness takes one
/// `inout` (`some RandomNumberGenerator`), so a seed fixes every result. The same seed gives the
/// same sequence on every platform. It does not reproduce PyTorch's Mersenne Twister streams.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// A generator for random stream `stream` of a job seeded with `seed`: seeded with
    /// ``derivedSeed(_:stream:)``, so each stream (a split, a crop per image, a fit per member) is
    /// independent of the others and of how many draws they make.
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: Self.derivedSeed(seed, stream: stream))
    }

    /// The seed of random stream `stream` of a job seeded with `seed`: SplitMix64's finaliser
    /// applied to `seed ^ (stream · 0x9E3779B97F4A7C15)` (wrapping). Grain's one seed derivation.
    ///
    /// For one `seed` it is one-to-one in `stream` (multiplying by an odd constant, XOR and the
    /// finaliser are all bijections), so distinct streams of one seed never share a generator.
    /// Each job names its streams in one place, next to its code, in a range of its own, so that
    /// a program that runs several jobs under one seed (the TrainThenDetect example trains a
    /// denoiser, an extractor and a detector with its `--seed`) draws each from its own streams:
    ///
    /// | streams | job | where they are named |
    /// |---|---|---|
    /// | 1 ..< 70,000, 2⁴⁰ ..< 2⁴², 2⁴¹ + … | fitting a detector | OneClass's `FitStreams` |
    /// | 70,000 ..< 80,000 | `grain evaluate`'s test crops and bias audit | Evaluation's `EvaluationStreams` |
    /// | 80,000 ..< 90,000 | training the extractor | Pretext's `ExtractorStreams` |
    /// | 90,000 ..< 100,000 | training the small denoiser | Diffusion's `DiffusionStreams` |
    /// | 100,000 ..< 110,000 | `grain denoiser evaluate` | `DenoiserEvaluationStreams` in the CLI |
    /// | 110,000 ..< 120,000 | the TrainThenDetect example's own draws | its `ExampleStreams` |
    ///
    /// A job that needs one generator per item (a photo, a step, an epoch) either gives each item
    /// its own stream in its range or takes one stream's derived seed as the seed of a family
    /// and numbers the items' streams under it (a pretext photo's crops and levels under its
    /// content hash; a denoiser's steps).
    public static func derivedSeed(_ seed: UInt64, stream: UInt64) -> UInt64 {
        var z = seed ^ (stream &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// Uniform and normal `Double` draws from any generator, so that every caller derives them the
/// same way from the same bits.
extension RandomNumberGenerator {
    /// A uniform `Double` in `[0, 1)` from the top 53 bits.
    @inlinable public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal `Double` by the Box–Muller transform (one of the pair is used).
    @inlinable public mutating func nextStandardNormal() -> Double {
        var u1 = nextUnitDouble()
        while u1 == 0 { u1 = nextUnitDouble() }
        let u2 = nextUnitDouble()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

import Foundation
@usableFromInline func _log(_ x: Double) -> Double { Foundation.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Foundation.cos(x) }
