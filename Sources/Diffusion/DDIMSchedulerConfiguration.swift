import Tensor

/// What a diffusion model's output at a timestep stands for, as diffusers' `prediction_type`.
public enum PredictionType: String, Codable, Sendable, CaseIterable {
    /// The noise ε that was added: `x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε` (Stable Diffusion v1).
    case epsilon = "epsilon"
    /// The velocity `v = √ᾱ_t ε − √(1−ᾱ_t) x₀` (Salimans & Ho 2022; Stable Diffusion 2 at 768²).
    case velocity = "v_prediction"
    /// The clean sample x₀ itself.
    case sample = "sample"
}

/// How the inference timesteps are spread over the training range, as diffusers'
/// `timestep_spacing` (Lin et al. 2024, Table 2). With T training and S inference steps:
public enum TimestepSpacing: String, Codable, Sendable, CaseIterable {
    /// `round(linspace(0, T−1, S))`, reversed: starts at T−1 and ends at 0.
    case linspace = "linspace"
    /// `i · (T div S) + steps_offset` for i = S−1…0: with T = 1000, S = 50 and offset 1,
    /// 981, 961, …, 21, 1 (Stable Diffusion v1).
    case leading = "leading"
    /// `round(arange(T, 0, −T/S)) − 1`: starts at T−1 and never reaches 0.
    case trailing = "trailing"
}

/// The configuration of a ``DDIMScheduler``: diffusers' `DDIMScheduler` arguments, under the same
/// names in JSON (`scheduler_config.json`), with Stable Diffusion v1.4's values as the Swift defaults.
///
/// Decoding follows diffusers' `DDIMScheduler.from_config`: keys it does not know (`_class_name`,
/// `skip_prk_steps`…) are ignored, and a missing key takes the value of diffusers' own
/// `DDIMScheduler.__init__` default (``diffusersDefaults``), not Stable Diffusion's. SD v1.4's own
/// `scheduler_config.json` (written by a `PNDMScheduler`) therefore decodes to ``stableDiffusionV14``.
///
/// Every option of diffusers 0.42's `DDIMScheduler` is supported.
public struct DDIMSchedulerConfiguration: Codable, Hashable, Sendable {
    /// The number of diffusion steps the model was trained with, T (`num_train_timesteps`).
    public var trainingStepCount: Int
    /// The first beta (`beta_start`).
    public var betaStart: Double
    /// The last beta (`beta_end`).
    public var betaEnd: Double
    /// How the betas are spread between ``betaStart`` and ``betaEnd`` (`beta_schedule`).
    public var betaSchedule: BetaSchedule
    /// Betas given directly, which replace ``betaSchedule`` (`trained_betas`); `T` values.
    public var trainedBetas: [Double]?
    /// Whether the predicted x₀ is clamped to `±clipSampleRange` (`clip_sample`).
    public var clipSample: Bool
    /// The bound of ``clipSample`` (`clip_sample_range`).
    public var clipSampleRange: Double
    /// Whether ᾱ before the first training step is 1 (`set_alpha_to_one`); otherwise it is ᾱ₀.
    public var setAlphaToOne: Bool
    /// Added to every ``TimestepSpacing/leading`` timestep (`steps_offset`).
    public var stepsOffset: Int
    /// What the model predicts (`prediction_type`).
    public var predictionType: PredictionType
    /// Whether the predicted x₀ is dynamically thresholded (Imagen; `thresholding`): each sample is
    /// clamped to `±s` and divided by `s`, where `s` is its ``dynamicThresholdingRatio`` quantile of
    /// |x₀| clamped to `[1, sampleMaxValue]`. Takes precedence over ``clipSample``.
    public var thresholding: Bool
    /// The quantile of ``thresholding`` (`dynamic_thresholding_ratio`).
    public var dynamicThresholdingRatio: Double
    /// The largest threshold of ``thresholding`` (`sample_max_value`).
    public var sampleMaxValue: Double
    /// How inference timesteps are spread (`timestep_spacing`).
    public var timestepSpacing: TimestepSpacing
    /// Whether the betas are rescaled to zero terminal SNR (`rescale_betas_zero_snr`).
    public var rescaleBetasZeroSNR: Bool

    /// Creates a configuration; every default is Stable Diffusion v1.4's (``stableDiffusionV14``).
    public init(trainingStepCount: Int = 1000, betaStart: Double = 0.00085, betaEnd: Double = 0.012,
                betaSchedule: BetaSchedule = .scaledLinear, trainedBetas: [Double]? = nil,
                clipSample: Bool = false, clipSampleRange: Double = 1, setAlphaToOne: Bool = false,
                stepsOffset: Int = 1, predictionType: PredictionType = .epsilon, thresholding: Bool = false,
                dynamicThresholdingRatio: Double = 0.995, sampleMaxValue: Double = 1,
                timestepSpacing: TimestepSpacing = .leading, rescaleBetasZeroSNR: Bool = false) {
        self.trainingStepCount = trainingStepCount
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        self.betaSchedule = betaSchedule
        self.trainedBetas = trainedBetas
        self.clipSample = clipSample
        self.clipSampleRange = clipSampleRange
        self.setAlphaToOne = setAlphaToOne
        self.stepsOffset = stepsOffset
        self.predictionType = predictionType
        self.thresholding = thresholding
        self.dynamicThresholdingRatio = dynamicThresholdingRatio
        self.sampleMaxValue = sampleMaxValue
        self.timestepSpacing = timestepSpacing
        self.rescaleBetasZeroSNR = rescaleBetasZeroSNR
    }

    /// Stable Diffusion v1.4's DDIM configuration: 1000 steps, `scaled_linear` betas from 0.00085 to
    /// 0.012, `set_alpha_to_one` false, `steps_offset` 1, no clipping, ε prediction, `leading` spacing.
    public static let stableDiffusionV14 = DDIMSchedulerConfiguration()

    /// diffusers' `DDIMScheduler()` with no arguments: `linear` betas from 0.0001 to 0.02,
    /// `clip_sample` and `set_alpha_to_one` true, `steps_offset` 0 (DDPM's CIFAR-10 setting).
    public static let diffusersDefaults = DDIMSchedulerConfiguration(
        betaStart: 0.0001, betaEnd: 0.02, betaSchedule: .linear, clipSample: true, setAlphaToOne: true,
        stepsOffset: 0)

    /// diffusers' JSON keys.
    enum CodingKeys: String, CodingKey {
        case trainingStepCount = "num_train_timesteps"
        case betaStart = "beta_start"
        case betaEnd = "beta_end"
        case betaSchedule = "beta_schedule"
        case trainedBetas = "trained_betas"
        case clipSample = "clip_sample"
        case clipSampleRange = "clip_sample_range"
        case setAlphaToOne = "set_alpha_to_one"
        case stepsOffset = "steps_offset"
        case predictionType = "prediction_type"
        case thresholding = "thresholding"
        case dynamicThresholdingRatio = "dynamic_thresholding_ratio"
        case sampleMaxValue = "sample_max_value"
        case timestepSpacing = "timestep_spacing"
        case rescaleBetasZeroSNR = "rescale_betas_zero_snr"
    }

    /// Decodes diffusers' JSON; a missing (or `null`) key takes diffusers' `DDIMScheduler` default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DDIMSchedulerConfiguration.diffusersDefaults
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        trainingStepCount = try value(.trainingStepCount, d.trainingStepCount)
        betaStart = try value(.betaStart, d.betaStart)
        betaEnd = try value(.betaEnd, d.betaEnd)
        betaSchedule = try value(.betaSchedule, d.betaSchedule)
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        clipSample = try value(.clipSample, d.clipSample)
        clipSampleRange = try value(.clipSampleRange, d.clipSampleRange)
        setAlphaToOne = try value(.setAlphaToOne, d.setAlphaToOne)
        stepsOffset = try value(.stepsOffset, d.stepsOffset)
        predictionType = try value(.predictionType, d.predictionType)
        thresholding = try value(.thresholding, d.thresholding)
        dynamicThresholdingRatio = try value(.dynamicThresholdingRatio, d.dynamicThresholdingRatio)
        sampleMaxValue = try value(.sampleMaxValue, d.sampleMaxValue)
        timestepSpacing = try value(.timestepSpacing, d.timestepSpacing)
        rescaleBetasZeroSNR = try value(.rescaleBetasZeroSNR, d.rescaleBetasZeroSNR)
        try validate()
    }

    /// The most training steps a configuration may declare (diffusers' models use 1000); bounds
    /// the betas allocated for a decoded file.
    public static let maximumTrainingStepCount = 100_000

    /// Throws for the first value a ``DDIMScheduler`` cannot use: the step count outside
    /// `1...maximumTrainingStepCount`, `trained_betas` of another length or not finite, non-finite
    /// beta bounds, a negative or non-finite `clip_sample_range`, `dynamic_thresholding_ratio`
    /// outside (0, 1], `sample_max_value` below 1, or `steps_offset` outside `0..<T`.
    /// Decoding calls it, so a malformed `scheduler_config.json` is an error, not a crash.
    public func validate() throws(DDIMSchedulerConfigurationError) {
        func check(_ ok: Bool, _ key: CodingKeys, _ value: Any, _ requirement: String) throws(DDIMSchedulerConfigurationError) {
            if !ok { throw .invalid(key: key.rawValue, value: "\(value)", requirement: requirement) }
        }
        let t = trainingStepCount
        try check(t >= 1 && t <= Self.maximumTrainingStepCount, .trainingStepCount, t, "in 1...\(Self.maximumTrainingStepCount)")
        if let trainedBetas {
            try check(trainedBetas.count == t, .trainedBetas, "\(trainedBetas.count) values", "\(t) values (num_train_timesteps)")
            try check(trainedBetas.allSatisfy(\.isFinite), .trainedBetas, "a non-finite value", "finite")
        }
        try check(betaStart.isFinite, .betaStart, betaStart, "finite")
        try check(betaEnd.isFinite, .betaEnd, betaEnd, "finite")
        try check(clipSampleRange.isFinite && clipSampleRange >= 0, .clipSampleRange, clipSampleRange, "finite and ≥ 0")
        try check(dynamicThresholdingRatio > 0 && dynamicThresholdingRatio <= 1, .dynamicThresholdingRatio,
                  dynamicThresholdingRatio, "in (0, 1]")
        try check(sampleMaxValue >= 1, .sampleMaxValue, sampleMaxValue, "≥ 1")
        try check(stepsOffset >= 0 && stepsOffset < t, .stepsOffset, stepsOffset, "in 0..<\(t) (num_train_timesteps)")
    }

    /// Encodes every key under diffusers' name (`trained_betas` as `null` when absent, as diffusers).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(trainingStepCount, forKey: .trainingStepCount)
        try c.encode(betaStart, forKey: .betaStart)
        try c.encode(betaEnd, forKey: .betaEnd)
        try c.encode(betaSchedule, forKey: .betaSchedule)
        if let trainedBetas { try c.encode(trainedBetas, forKey: .trainedBetas) } else { try c.encodeNil(forKey: .trainedBetas) }
        try c.encode(clipSample, forKey: .clipSample)
        try c.encode(clipSampleRange, forKey: .clipSampleRange)
        try c.encode(setAlphaToOne, forKey: .setAlphaToOne)
        try c.encode(stepsOffset, forKey: .stepsOffset)
        try c.encode(predictionType, forKey: .predictionType)
        try c.encode(thresholding, forKey: .thresholding)
        try c.encode(dynamicThresholdingRatio, forKey: .dynamicThresholdingRatio)
        try c.encode(sampleMaxValue, forKey: .sampleMaxValue)
        try c.encode(timestepSpacing, forKey: .timestepSpacing)
        try c.encode(rescaleBetasZeroSNR, forKey: .rescaleBetasZeroSNR)
    }

    /// The betas this configuration defines: ``trainedBetas`` (rounded to float32) or the
    /// ``betaSchedule``, then rescaled if ``rescaleBetasZeroSNR``. `[T]`.
    public var betas: [Float] {
        var betas: [Float]
        if let trainedBetas {
            precondition(trainedBetas.count == trainingStepCount,
                         "DDIMSchedulerConfiguration: trained_betas has \(trainedBetas.count) values, num_train_timesteps is \(trainingStepCount)")
            betas = trainedBetas.map { Float($0) }
        } else {
            betas = betaSchedule.betas(count: trainingStepCount, start: betaStart, end: betaEnd)
        }
        return rescaleBetasZeroSNR ? BetaSchedule.rescaledToZeroTerminalSNR(betas) : betas
    }

    /// The `inferenceStepCount` timesteps, largest first, as diffusers' `set_timesteps`
    /// (NumPy's float64 arithmetic and round-half-to-even reproduced exactly).
    public func timesteps(inferenceStepCount count: Int) -> [Int] {
        precondition(trainingStepCount > 0, "DDIMSchedulerConfiguration: num_train_timesteps \(trainingStepCount) must be positive")
        precondition(count >= 1 && count <= trainingStepCount,
                     "DDIMSchedulerConfiguration.timesteps: \(count) inference steps; must be in 1...\(trainingStepCount) (num_train_timesteps)")
        let n = trainingStepCount
        switch timestepSpacing {
        case .linspace:
            // np.linspace(0, n − 1, count): i · step, the last value exactly n − 1.
            let last = Double(n - 1)
            let step = count > 1 ? last / Double(count - 1) : 0
            return (0..<count).reversed().map { i in
                Int((i == count - 1 && count > 1 ? last : Double(i) * step).rounded(.toNearestOrEven))
            }
        case .leading:
            let ratio = n / count
            return (0..<count).reversed().map { $0 * ratio + stepsOffset }
        case .trailing:
            // np.arange(n, 0, −ratio): length ceil(n / ratio); NumPy fills start + i · delta with
            // delta = (start + step) − start.
            let ratio = Double(n) / Double(count)
            let start = Double(n)
            let length = Int(((0 - start) / -ratio).rounded(.up))
            let delta = (start + -ratio) - start
            return (0..<length).map { i in
                Int((i == 0 ? start : start + Double(i) * delta).rounded(.toNearestOrEven)) - 1
            }
        }
    }
}

/// A scheduler configuration value out of range, named by its diffusers key.
public enum DDIMSchedulerConfigurationError: Error, Equatable, CustomStringConvertible {
    /// `key` holds `value`, which is not `requirement`.
    case invalid(key: String, value: String, requirement: String)

    /// A readable explanation naming the key.
    public var description: String {
        switch self {
        case .invalid(let key, let value, let requirement): "scheduler configuration: \(key) is \(value); it must be \(requirement)"
        }
    }
}
