import Tensor

/// One of the paper's nine corruption strengths: level k noises a sample to the k-th last timestep
/// of a 50-step DDIM schedule and restores it with the last k steps ("for α₅ the scheduler needs 5
/// steps").
///
/// With Stable Diffusion v1.4's schedule (timesteps 981, 961, …, 21, 1) level k starts at
/// t = 20(k − 1) + 1, where ᾱ_t is about 0.9983, 0.9804, 0.9609, 0.9398, 0.9171, 0.8930, 0.8674,
/// 0.8404, 0.8121 for k = 1…9.
///
/// ```swift
/// let level = try NoiseLevel(5)
/// let scheduler = NoiseLevel.standardScheduler
/// level.timesteps(in: scheduler)  // [81, 61, 41, 21, 1]
/// let noisy = scheduler.corrupt(latents, level: level, noise: noise)
/// ```
public struct NoiseLevel: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// k, in ``range``; also the number of DDIM steps that restore it.
    public let value: Int

    /// The levels the paper uses, 1…9.
    public static let range = 1...9
    /// Every level, 1…9.
    public static let all: [NoiseLevel] = range.map { NoiseLevel(unchecked: $0) }
    /// The number of inference steps whose tail the levels run (the paper's 50).
    public static let inferenceStepCount = 50
    /// The scheduler the paper restores with: Stable Diffusion v1.4's DDIM configuration, 50 steps.
    public static let standardScheduler = DDIMScheduler(configuration: .stableDiffusionV14,
                                                        inferenceStepCount: inferenceStepCount)

    /// Level `value`; throws ``DiffusionError/noiseLevelOutOfRange(_:)`` outside 1…9.
    public init(_ value: Int) throws(DiffusionError) {
        guard NoiseLevel.range.contains(value) else { throw .noiseLevelOutOfRange(value) }
        self.value = value
    }

    private init(unchecked value: Int) { self.value = value }

    /// Decodes the bare integer k; a value outside 1…9 is a `DecodingError.dataCorrupted`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(Int.self)
        guard NoiseLevel.range.contains(value) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: DiffusionError.noiseLevelOutOfRange(value).description)
        }
        self.value = value
    }

    /// Encodes the bare integer k.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    /// The number of denoising steps that restore this level, k.
    public var stepCount: Int { value }

    /// The timesteps this level runs in `scheduler`: its last k, largest first.
    public func timesteps(in scheduler: some Scheduler) -> [Int] {
        let all = scheduler.timesteps
        precondition(all.count >= value,
                     "NoiseLevel \(value): the scheduler has only \(all.count) timesteps; level k needs k")
        return Array(all.suffix(value))
    }

    /// The timestep this level corrupts to: the first of ``timesteps(in:)`` (20(k − 1) + 1 for the
    /// ``standardScheduler``).
    public func startTimestep(in scheduler: some Scheduler) -> Int { timesteps(in: scheduler)[0] }

    /// ᾱ at ``startTimestep(in:)``: the fraction of signal power the corruption keeps.
    public func alphaCumulativeProduct(in scheduler: some Scheduler) -> Float {
        scheduler.alphasCumulativeProduct[startTimestep(in: scheduler)]
    }

    /// `"level k"`.
    public var description: String { "level \(value)" }

    /// Orders by strength.
    public static func < (a: NoiseLevel, b: NoiseLevel) -> Bool { a.value < b.value }
}

extension Scheduler {
    /// Corrupts x₀ to `level`: `x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε` at t = `level.startTimestep(in: self)`.
    ///
    /// - Parameters:
    ///   - original: x₀, `[B, …]`.
    ///   - level: the noise level.
    ///   - noise: ε, standard normal, shaped like `original`.
    public func corrupt(_ original: Tensor, level: NoiseLevel, noise: Tensor) -> Tensor {
        addNoise(original: original, noise: noise, timestep: level.startTimestep(in: self))
    }

    /// ``corrupt(_:level:noise:)`` with ε drawn from `generator`; returns the corrupted sample and ε.
    public func corrupt<G: RandomNumberGenerator>(_ original: Tensor, level: NoiseLevel,
                                                  using generator: inout G) -> (corrupted: Tensor, noise: Tensor) {
        let noise = Tensor.randomNormal(original.shape, using: &generator)
        return (corrupt(original, level: level, noise: noise), noise)
    }
}
