import Tensor

extension DDIMScheduler {
    /// Dynamic thresholding (Saharia et al. 2022, "Imagen"), as diffusers' `_threshold_sample`:
    /// for each sample, `s` is the `ratio` quantile of |x| (linear interpolation, as `torch.quantile`)
    /// clamped to `[1, maximum]`, and the sample becomes `clamp(x, −s, s) / s`.
    ///
    /// - Parameters:
    ///   - sample: `[B, …]`; the quantile runs over everything but the first axis.
    ///   - ratio: the quantile, in `(0, 1]`.
    ///   - maximum: the largest threshold, ≥ 1.
    /// - Returns: the thresholded sample, shaped like `sample`. Gradients flow to `sample`; the
    ///   thresholds are constants.
    public static func dynamicallyThresholded(_ sample: Tensor, ratio: Float, maximum: Float) -> Tensor {
        precondition(sample.shape.count >= 1 && sample.count > 0,
                     "dynamicallyThresholded: sample \(sample.shape) must have a batch axis and elements")
        let batch = sample.shape[0], perSample = sample.count / batch
        let values = sample.scalars
        var thresholds = [Float](repeating: 1, count: batch)
        // torch.quantile: rank = q · (n − 1) in float32, lerp between the neighbouring sorted values.
        let rank = ratio * Float(perSample - 1)
        let below = Int(rank), above = Int(rank.rounded(.up))
        let weight = rank - Float(below)
        for b in 0..<batch {
            let sorted = values[(b * perSample)..<((b + 1) * perSample)].map { Swift.abs($0) }.sorted()
            let low = sorted[below], high = sorted[above]
            // at::lerp: the formula switches at weight 0.5 to stay exact at both ends.
            let quantile = weight < 0.5 ? low + weight * (high - low) : high - (high - low) * (1 - weight)
            thresholds[b] = Swift.min(Swift.max(quantile, 1), maximum)
        }
        let shape = [batch] + [Int](repeating: 1, count: sample.shape.count - 1)
        let threshold = Tensor(shape: shape, scalars: thresholds)
        return Tensor.minimum(Tensor.maximum(sample, -threshold), threshold) / threshold
    }
}
