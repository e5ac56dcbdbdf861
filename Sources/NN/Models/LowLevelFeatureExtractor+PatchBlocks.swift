import Tensor

// The extractor's per-patch convolution stack at inference, run on blocks of 16 patches in an
// image-fastest layout (Tensor's `TinyImagePipeline`): the SRM bank, `group1_b` and
// `group2`…`group5` without leaving the layout, then covariance pooling and the rest as tensor ops.

extension LowLevelFeatureExtractor {
    /// Patches per pass through the block pipeline: the pipeline's own memory is a few blocks per
    /// core whatever the count, and the `[P, 32, 32]` covariance matrices and square-root
    /// iterations after it stay below 30 MB.
    package static let blockInferenceChunk = 2048

    /// The stack from the SRM bank to `group5` as one ``TinyImagePipeline`` for `[P, 3, 16, 16]`
    /// patches: `nil` when a layer is not one the pipeline has a step for (the general path then
    /// runs it).
    package func patchBlockPipeline() -> TinyImagePipeline? {
        let bank = highPass.highPass
        guard bank.bias == nil, bank.groups == 1, bank.stride == (1, 1), bank.dilation == (1, 1),
              bank.weight.shape.count == 4, bank.weight.shape[2] == bank.weight.shape[3],
              bank.padding == (bank.weight.shape[2] / 2, bank.weight.shape[2] / 2) else { return nil }
        var steps: [TinyImagePipeline.Step] = [.channelFilters(weight: bank.weight.value)]
        for stage in [stem] + stages {
            let layers = stage.layers.map(\.layer)
            var i = 0
            while i < layers.count {
                switch layers[i] {
                case let convolution as Conv2d:
                    guard convolution.weight.shape.count == 4, convolution.weight.shape[2] == 3, convolution.weight.shape[3] == 3,
                          convolution.stride == (1, 1), convolution.padding == (1, 1), convolution.dilation == (1, 1),
                          convolution.groups == 1 else { return nil }
                    steps.append(.convolution(weight: convolution.weight.value, bias: convolution.bias?.value))
                case let norm as LayerNorm:
                    var clamp: ClosedRange<Float>?
                    if i + 1 < layers.count, let activation = layers[i + 1] as? Activation {
                        guard let range = Self.clampRange(activation.function) else { return nil }
                        clamp = range
                        i += 1
                    }
                    steps.append(.layerNorm(weight: norm.weight?.value, bias: norm.bias?.value, epsilon: norm.epsilon, clamp: clamp))
                case let pool as AvgPool2d:
                    guard pool.kernelSize == (3, 3), pool.stride == (2, 2), pool.padding == (1, 1), pool.countIncludePadding
                    else { return nil }
                    steps.append(.averagePool)
                default:
                    return nil
                }
                i += 1
            }
        }
        return TinyImagePipeline(steps: steps, channels: 3, height: Self.patchSize, width: Self.patchSize)
    }

    /// ``patchDescriptors(_:record:)`` at inference through ``patchBlockPipeline()``, in chunks of
    /// ``blockInferenceChunk`` patches; `nil` when the pipeline does not apply.
    package func blockDescriptors(_ patches: Tensor) -> Tensor? {
        guard let pipeline = patchBlockPipeline() else { return nil }
        let count = patches.shape[0], width = Self.featureDimension
        func descriptors(_ part: Tensor) -> Tensor {
            upperTriangle(squareRoot(covariancePooling(pipeline(part))))
        }
        guard count > Self.blockInferenceChunk else { return descriptors(patches) }
        var result = Tensor(uninitializedShape: [count, width])
        var start = 0
        while start < count {
            let end = Swift.min(count, start + Self.blockInferenceChunk)
            let part = descriptors(patches.sliced(axis: 0, start: start, end: end))
            part.withUnsafeBufferPointer { source in
                result.withUnsafeMutableBufferPointer { target in
                    (target.baseAddress! + start * width).update(from: source.baseAddress!, count: (end - start) * width)
                }
            }
            start = end
        }
        return result
    }
}
