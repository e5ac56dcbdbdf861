import Tensor

// Inputs shared by the benchmark suites and grain-opbench: seeded random tensors built once, on
// first use, so that registering a suite (which the benchmark tool does just to list it) costs
// nothing and the timed region never includes data generation.

/// A value computed on first access and kept; not thread-safe (benchmarks run one at a time).
public final class Lazy<Value> {
    private var value: Value?
    private let make: () -> Value

    /// Wraps `make`, which runs at most once.
    public init(_ make: @escaping () -> Value) { self.make = make }

    /// The value, computed now if this is the first access.
    public var wrappedValue: Value {
        if let value { return value }
        let made = make()
        value = made
        return made
    }
}

/// A tensor of `shape` with standard-normal elements from a seeded generator.
public func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    return Tensor.randomNormal(shape, using: &generator)
}

/// A convolution shape: `[1, channels, size, size]` input, `[channels, channels, 3, 3]` weight,
/// padding 1 (the Stable Diffusion U-Net/VAE 3×3 convolutions at batch 1).
public struct ConvolutionShape: Sendable {
    /// Input and output channels.
    public let channels: Int
    /// Height and width of the image.
    public let size: Int

    /// A square `channels → channels` 3×3 convolution at `size × size`.
    public init(channels: Int, size: Int) {
        self.channels = channels
        self.size = size
    }

    /// `"320x32x32"`.
    public var label: String { "\(channels)x\(size)x\(size)" }

    /// Multiply-adds × 2 of the convolution.
    public var flops: Double { 2 * Double(channels * channels * 9) * Double(size * size) }

    /// The five Stable Diffusion shapes: the U-Net's 320@32², 640@16², 1280@8², and the VAE's
    /// 512@64² and 128@256².
    public static let stableDiffusion: [ConvolutionShape] = [
        .init(channels: 320, size: 32), .init(channels: 640, size: 16), .init(channels: 1280, size: 8),
        .init(channels: 512, size: 64), .init(channels: 128, size: 256),
    ]
}
