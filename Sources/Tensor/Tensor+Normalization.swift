import Foundation

// Layer and group normalisation (PyTorch's `layer_norm` and `group_norm`).
//
// Forward: one pass over each row for the mean and the biased variance (blocks of 512 elements
// accumulated in `SIMD16<Float>` around a shift, blocks added in `Double`), then one pass that
// writes the normalised, affine output. The mean (a float plus a float correction, so `x − μ`
// keeps the precision of the Double mean) and 1/σ of each row are kept for the backward.
// Backward: the analytic gradient, fused — one pass for the two row sums it needs, one that
// writes dx and accumulates dγ, dβ. Rows are split across cores with `Parallel.forRanges`.
// The composed references (`mean`, `variance`, arithmetic) sit at the end, for tests.

extension Tensor {
    /// Layer normalisation over the trailing `normalizedShape` axes, as PyTorch's
    /// `torch.nn.functional.layer_norm`:
    /// `y = (x − E[x]) / √(Var[x] + ε) · weight + bias`, with the biased variance, the statistics
    /// taken jointly over all normalised axes of each row.
    ///
    /// - Parameters:
    ///   - input: `[…, *normalizedShape]`.
    ///   - normalizedShape: the trailing extents normalised together, e.g. `[32, 16, 16]`.
    ///   - weight: the element-wise scale γ, of shape exactly `normalizedShape` (1 when `nil`).
    ///   - bias: the element-wise shift β, of shape exactly `normalizedShape` (0 when `nil`).
    ///   - epsilon: added to the variance.
    /// - Returns: a tensor shaped like `input`.
    public static func layerNorm(_ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
                                 epsilon: Float = 1e-5) -> Tensor {
        let k = normalizedShape.count
        precondition(k >= 1 && k <= input.rank && Array(input.shape.suffix(k)) == normalizedShape,
                     "layerNorm: input \(input.shape) does not end in normalized shape \(normalizedShape)")
        if let weight {
            precondition(weight.shape == normalizedShape, "layerNorm: weight \(weight.shape) differs from normalized shape \(normalizedShape)")
        }
        if let bias {
            precondition(bias.shape == normalizedShape, "layerNorm: bias \(bias.shape) differs from normalized shape \(normalizedShape)")
        }
        let width = Shape.count(normalizedShape)
        precondition(width > 0, "layerNorm: empty normalized shape \(normalizedShape) for input \(input.shape)")
        let rows = input.count / width
        let out = Tensor(uninitializedShape: input.shape)
        let means = Tensor(uninitializedShape: [rows]), meanCorrections = Tensor(uninitializedShape: [rows])
        let inverseDeviations = Tensor(uninitializedShape: [rows])
        layerNormForward(input, weight: weight, bias: bias, epsilon: epsilon, width: width, clamp: nil, into: out,
                         means: means, meanCorrections: meanCorrections, inverseDeviations: inverseDeviations)
        var inputs = [input]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let x = input.detached()
        let needInput = input.requiresGradient
        let needWeight = weight?.requiresGradient ?? false, needBias = bias?.requiresGradient ?? false
        let weightValue = weight?.detached(), hasBias = bias != nil
        return record("layerNorm", out, inputs: inputs) { g in
            let (dx, dw, db) = layerNormBackward(
                x, g, means: means, meanCorrections: meanCorrections, inverseDeviations: inverseDeviations, weight: weightValue,
                width: width, needInput: needInput, needWeight: needWeight, needBias: needBias)
            var grads: [Tensor?] = [dx]
            if weightValue != nil { grads.append(dw?.reshaped(normalizedShape)) }
            if hasBias { grads.append(db?.reshaped(normalizedShape)) }
            return grads
        }
    }

    /// The layer-norm forward over rows of `width`: per row the mean and biased variance, then
    /// `y = (x − μ)·r·γ + β`, clamped to `clamp` when given, written into `out`; the statistics
    /// the backward needs go into `means`, `meanCorrections` and `inverseDeviations` when given.
    ///
    /// Narrow rows (γ and β stay in cache) are split across cores, each row normalised right after
    /// its statistics (``rowMoments(_:_:)``). Wide rows with a batch (`width ≥`
    /// ``layerNormBlockedWidth``, more than one row) would re-read γ and β from memory for every
    /// row, so there the statistics of all rows come first (each row in chunks on both cores), then
    /// column blocks are normalised across the whole batch while their γ, β block stays in cache:
    /// γ and β are read once (224 MB moved instead of 320 MB for a 64 MB `[4, C, H, W]` input).
    /// Without a clamp, the blocked path normalises with the C kernel of ``Kernels/activeLevel``
    /// (streaming outputs of ``Kernels/streamingFloats`` elements or more around the caches). All
    /// paths round each element through the same operations, so they agree bit for bit.
    static func layerNormForward(_ input: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float, width: Int,
                                 clamp: ClosedRange<Float>?, into out: Tensor, means: Tensor?, meanCorrections: Tensor?,
                                 inverseDeviations: Tensor?) {
        let rows = input.count / width
        let scale = weight ?? Tensor.ones([width]), shift = bias ?? Tensor.zeros([width])
        let px = input.storage.baseAddress, pw = scale.storage.baseAddress, pb = shift.storage.baseAddress
        let py = out.storage.baseAddress
        let pMean = means?.storage.baseAddress, pLow = meanCorrections?.storage.baseAddress
        let pRstd = inverseDeviations?.storage.baseAddress
        let eps = Double(epsilon)
        if rows > 1 && width >= layerNormBlockedWidth {
            let statistics = Tensor(uninitializedShape: [3, rows])
            let ps = statistics.storage.baseAddress
            layerNormStatistics(px, rows: rows, width: width, epsilon: eps, means: ps, meanCorrections: ps + rows,
                                inverseDeviations: ps + 2 &* rows)
            pMean?.update(from: ps, count: rows)
            pLow?.update(from: ps + rows, count: rows)
            pRstd?.update(from: ps + 2 &* rows, count: rows)
            let block = layerNormColumnBlock
            let blocks = (width + block - 1) / block
            // Without a clamp, the C kernel of the active level (bit-identical to `normalizeRow`), which
            // streams outputs larger than the caches around them.
            let kernels = clamp == nil ? Kernels.active : nil
            let streaming: Int32 = input.count >= Kernels.streamingFloats ? 1 : 0
            Parallel.forRanges(blocks, minimumChunk: 1) { start, end in
                for b in start..<end {
                    let first = b &* block, count = Swift.min(block, width &- first)
                    for row in 0..<rows {
                        let offset = row &* width &+ first
                        let m = ps[row], mLow = ps[rows &+ row], r = ps[2 &* rows &+ row]
                        if let normalize = kernels?.normalize {
                            normalize(px + offset, py + offset, pw + first, pb + first, count, m, mLow, r, streaming)
                        } else {
                            normalizeRow(px + offset, into: py + offset, weight: pw + first, bias: pb + first, count: count,
                                         mean: m, meanCorrection: mLow, inverseDeviation: r, clamp: clamp)
                        }
                    }
                }
                kernels?.storeFence()
            }
            return
        }
        Parallel.forRanges(rows, minimumChunk: Swift.max(1, (1 << 15) / width)) { start, end in
            for row in start..<end {
                let x = px + row &* width, y = py + row &* width
                let (mean, variance) = rowMoments(x, width)
                // The mean as a float plus a correction: x − m − mLow keeps the Double mean's precision.
                let m = Float(mean), mLow = Float(mean - Double(m)), r = Float(1 / (variance + eps).squareRoot())
                pMean?[row] = m
                pLow?[row] = mLow
                pRstd?[row] = r
                normalizeRow(x, into: y, weight: pw, bias: pb, count: width, mean: m, meanCorrection: mLow,
                             inverseDeviation: r, clamp: clamp)
            }
        }
    }

    /// The row width from which ``layerNormForward(_:weight:bias:epsilon:width:clamp:into:means:meanCorrections:inverseDeviations:)``
    /// normalises column blocks across the batch (γ and β together then exceed a 1 MiB L2 cache).
    static let layerNormBlockedWidth = 1 << 17

    /// The columns normalised together across the batch: γ and β blocks of 16 KiB each.
    static let layerNormColumnBlock = 4096

    /// Per row of `width` floats: the mean as a float plus a correction, and `1/√(var + ε)`. Rows
    /// are cut into chunks of 2¹⁶ floats spread over the cores; each chunk's sums around the row's
    /// first element are added in `Double`, as in ``rowMoments(_:_:)``.
    static func layerNormStatistics(_ px: UnsafePointer<Float>, rows: Int, width: Int, epsilon: Double,
                                    means: UnsafeMutablePointer<Float>, meanCorrections: UnsafeMutablePointer<Float>,
                                    inverseDeviations: UnsafeMutablePointer<Float>) {
        let chunk = 1 << 16
        let chunksPerRow = (width + chunk - 1) / chunk
        let units = rows &* chunksPerRow
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 &* units) { partials in
            let sums = SendablePointer(partials.baseAddress!)
            Parallel.forRanges(units, minimumChunk: 1) { start, end in
                for unit in start..<end {
                    let row = unit / chunksPerRow, first = (unit % chunksPerRow) &* chunk
                    let x = px + row &* width
                    let (sum, sumOfSquares) = shiftedSums(x + first, Swift.min(chunk, width &- first), shift: x[0])
                    sums.pointer[2 &* unit] = sum
                    sums.pointer[2 &* unit &+ 1] = sumOfSquares
                }
            }
            let n = Double(width)
            for row in 0..<rows {
                var sum = 0.0, sumOfSquares = 0.0
                for unit in (row &* chunksPerRow)..<((row &+ 1) &* chunksPerRow) {
                    sum += sums.pointer[2 &* unit]
                    sumOfSquares += sums.pointer[2 &* unit &+ 1]
                }
                let shiftedMean = sum / n
                let mean = Double(px[row &* width]) + shiftedMean
                let variance = Swift.max(sumOfSquares / n - shiftedMean * shiftedMean, 0)
                let m = Float(mean)
                means[row] = m
                meanCorrections[row] = Float(mean - Double(m))
                inverseDeviations[row] = Float(1 / (variance + epsilon).squareRoot())
            }
        }
    }

    /// `Σ (x − shift)` and `Σ (x − shift)²` over `count` contiguous floats: blocks of 512
    /// accumulated in `SIMD16<Float>`, block sums added in `Double`.
    static func shiftedSums(_ p: UnsafePointer<Float>, _ count: Int, shift: Float) -> (Double, Double) {
        let shiftVector = SIMD16<Float>(repeating: shift), shiftDouble = Double(shift)
        var sum = 0.0, sumOfSquares = 0.0
        var i = 0
        while i < count {
            let blockEnd = Swift.min(count, i &+ 512)
            var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), q0 = SIMD16<Float>(), q1 = SIMD16<Float>()
            while i &+ 32 <= blockEnd {
                let a = load16(p, i) - shiftVector, b = load16(p, i &+ 16) - shiftVector
                s0 += a; s1 += b
                q0 += a * a; q1 += b * b
                i &+= 32
            }
            sum += Double((s0 + s1).sum())
            sumOfSquares += Double((q0 + q1).sum())
            while i < blockEnd {
                let d = Double(p[i]) - shiftDouble
                sum += d
                sumOfSquares += d * d
                i &+= 1
            }
        }
        return (sum, sumOfSquares)
    }

    /// `y[j] = (x[j] − m − mLow)·r·γ[j] + β[j]` for `j < count`, then ReLU (`clamp == 0...∞`, as
    /// `relu()`: NaN gives 0) or `min(max(v, lower), upper)` (as `hardtanh()`) when `clamp` is given.
    @inline(__always)
    static func normalizeRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, weight pw: UnsafePointer<Float>,
                             bias pb: UnsafePointer<Float>, count: Int, mean m: Float, meanCorrection mLow: Float,
                             inverseDeviation r: Float, clamp: ClosedRange<Float>?) {
        var j = 0
        if let clamp, clamp == 0...Float.infinity {
            while j < count {
                let v = (x[j] - m - mLow) * r * pw[j] + pb[j]
                y[j] = v > 0 ? v : 0
                j &+= 1
            }
        } else if let clamp {
            let lower = clamp.lowerBound, upper = clamp.upperBound
            while j < count {
                let v = (x[j] - m - mLow) * r * pw[j] + pb[j]
                y[j] = Swift.min(Swift.max(v, lower), upper)
                j &+= 1
            }
        } else {
            while j < count { y[j] = (x[j] - m - mLow) * r * pw[j] + pb[j]; j &+= 1 }
        }
    }

    /// Layer normalisation followed by a clamp to `range`, in one pass over each row:
    /// `layerNorm(input, …).hardtanh(min: range.lowerBound, max: range.upperBound)`, or
    /// `layerNorm(input, …).relu()` when `range` is `0...Float.infinity` — bit for bit, without the intermediate
    /// tensor and its second pass. For the extractor's LayerNorm → ReLU and LayerNorm → Hardtanh
    /// pairs.
    ///
    /// When gradients are recorded and an operand requires one, it is computed as the two ops
    /// (so it is differentiable exactly as they are); otherwise by the fused kernel.
    ///
    /// - Parameters:
    ///   - input: `[…, *normalizedShape]`.
    ///   - normalizedShape: the trailing extents normalised together, e.g. `[32, 16, 16]`.
    ///   - weight: the element-wise scale γ, of shape exactly `normalizedShape` (1 when `nil`).
    ///   - bias: the element-wise shift β, of shape exactly `normalizedShape` (0 when `nil`).
    ///   - epsilon: added to the variance.
    ///   - range: the clamp; `0...Float.infinity` for ReLU, `-5...5` for Hardtanh(−5, 5).
    /// - Returns: a tensor shaped like `input`.
    public static func layerNorm(_ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
                                 epsilon: Float = 1e-5, clampedTo range: ClosedRange<Float>) -> Tensor {
        let needsGradient = GradientMode.isEnabled
            && (input.requiresGradient || weight?.requiresGradient == true || bias?.requiresGradient == true)
        let fused = !needsGradient && Array(input.shape.suffix(normalizedShape.count)) == normalizedShape
            && weight.map { $0.shape == normalizedShape } ?? true && bias.map { $0.shape == normalizedShape } ?? true
            && Shape.count(normalizedShape) > 0 && !normalizedShape.isEmpty
        guard fused else {
            // The composed ops, which also report any shape error.
            let normalized = layerNorm(input, normalizedShape: normalizedShape, weight: weight, bias: bias, epsilon: epsilon)
            return range == 0...Float.infinity
                ? normalized.relu() : normalized.hardtanh(min: range.lowerBound, max: range.upperBound)
        }
        let out = Tensor(uninitializedShape: input.shape)
        layerNormForward(input, weight: weight, bias: bias, epsilon: epsilon, width: Shape.count(normalizedShape),
                         clamp: range, into: out, means: nil, meanCorrections: nil, inverseDeviations: nil)
        return out
    }

    /// The fused layer-norm backward. With `x̂ = (x − μ)·r` and `d = g ⊙ γ` per row of `width`:
    /// `dx = r · (d − mean(d) − x̂ · mean(d ⊙ x̂))`, `dγ = Σ_rows g ⊙ x̂`, `dβ = Σ_rows g`.
    /// Rows are split into one chunk per core; each chunk sums dγ, dβ into its own buffer.
    static func layerNormBackward(_ input: Tensor, _ gradient: Tensor, means: Tensor, meanCorrections: Tensor, inverseDeviations: Tensor,
                                  weight: Tensor?, width: Int, needInput: Bool, needWeight: Bool,
                                  needBias: Bool) -> (Tensor?, Tensor?, Tensor?) {
        let rows = input.count / width
        let chunks = Swift.min(Parallel.threadCount, Swift.max(1, input.count / (1 << 15)), rows)
        let dx = needInput ? Tensor(uninitializedShape: input.shape) : nil
        let dwPartial = needWeight ? Tensor.zeros([Swift.max(chunks, 1), width]) : nil
        let dbPartial = needBias ? Tensor.zeros([Swift.max(chunks, 1), width]) : nil
        let scale = weight ?? Tensor.ones([width])
        let px = input.storage.baseAddress, pg = gradient.storage.baseAddress, pw = scale.storage.baseAddress
        let pMean = means.storage.baseAddress, pLow = meanCorrections.storage.baseAddress
        let pRstd = inverseDeviations.storage.baseAddress
        let pdx = dx?.storage.baseAddress, pdw = dwPartial?.storage.baseAddress, pdb = dbPartial?.storage.baseAddress
        let inverseWidth = 1 / Float(width)
        Parallel.forRanges(chunks, minimumChunk: 1) { chunkStart, chunkEnd in
            for chunk in chunkStart..<chunkEnd {
                let dwRow = pdw.map { $0 + chunk &* width }, dbRow = pdb.map { $0 + chunk &* width }
                for row in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) {
                    let x = px + row &* width, g = pg + row &* width
                    let m = pMean[row], mLow = pLow[row], r = pRstd[row]
                    if let pdx {
                        // Σ g⊙γ and Σ g⊙γ⊙(x − μ) in one pass.
                        let mv = SIMD16<Float>(repeating: m), lowVector = SIMD16<Float>(repeating: mLow)
                        var sumD = SIMD16<Float>(), sumDX = SIMD16<Float>()
                        var j = 0
                        while j &+ 16 <= width {
                            let d = load16(g, j) * load16(pw, j)
                            sumD += d
                            sumDX += d * (load16(x, j) - mv - lowVector)
                            j &+= 16
                        }
                        var a = sumD.sum(), b = sumDX.sum()
                        while j < width { let d = g[j] * pw[j]; a += d; b += d * (x[j] - m - mLow); j &+= 1 }
                        let meanD = a * inverseWidth, meanDX = b * r * inverseWidth
                        let out = pdx + row &* width
                        j = 0
                        while j < width {
                            out[j] = r * (g[j] * pw[j] - meanD - (x[j] - m - mLow) * r * meanDX)
                            j &+= 1
                        }
                    }
                    if let dwRow {
                        var j = 0
                        while j < width { dwRow[j] += g[j] * (x[j] - m - mLow) * r; j &+= 1 }
                    }
                    if let dbRow {
                        var j = 0
                        while j < width { dbRow[j] += g[j]; j &+= 1 }
                    }
                }
            }
        }
        let dw = dwPartial.map { $0.sum(alongAxes: [0]) }
        let db = dbPartial.map { $0.sum(alongAxes: [0]) }
        return (dx, dw, db)
    }

    /// Group normalisation, as PyTorch's `torch.nn.functional.group_norm`: the `C` channels are
    /// split into `groups` consecutive groups, each normalised jointly over its channels and all
    /// spatial positions with the biased variance, then scaled and shifted per channel.
    ///
    /// - Parameters:
    ///   - input: `[N, C, *]` (any number of spatial axes, including none).
    ///   - groups: divides `C`.
    ///   - weight: the per-channel scale γ, `[C]` (1 when `nil`).
    ///   - bias: the per-channel shift β, `[C]` (0 when `nil`).
    ///   - epsilon: added to the variance.
    /// - Returns: a tensor shaped like `input`.
    public static func groupNorm(_ input: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil,
                                 epsilon: Float = 1e-5) -> Tensor {
        precondition(input.rank >= 2, "groupNorm: input must be [N, C, *], got \(input.shape)")
        let batch = input.shape[0], channels = input.shape[1]
        precondition(groups > 0 && channels % groups == 0,
                     "groupNorm: \(groups) groups do not divide the \(channels) channels of input \(input.shape)")
        if let weight { precondition(weight.shape == [channels], "groupNorm: weight \(weight.shape) is not [\(channels)] for input \(input.shape)") }
        if let bias { precondition(bias.shape == [channels], "groupNorm: bias \(bias.shape) is not [\(channels)] for input \(input.shape)") }
        let spatial = Shape.count(Array(input.shape.dropFirst(2)))
        let channelsPerGroup = channels / groups, width = channelsPerGroup * spatial
        precondition(width > 0, "groupNorm: empty groups in input \(input.shape)")
        let rows = batch * groups
        let out = Tensor(uninitializedShape: input.shape)
        let means = Tensor(uninitializedShape: [rows]), meanCorrections = Tensor(uninitializedShape: [rows])
        let inverseDeviations = Tensor(uninitializedShape: [rows])
        let scale = weight ?? Tensor.ones([channels]), shift = bias ?? Tensor.zeros([channels])
        let px = input.storage.baseAddress, pw = scale.storage.baseAddress, pb = shift.storage.baseAddress
        let py = out.storage.baseAddress
        let pMean = means.storage.baseAddress, pLow = meanCorrections.storage.baseAddress
        let pRstd = inverseDeviations.storage.baseAddress
        let eps = Double(epsilon)
        Parallel.forRanges(rows, minimumChunk: Swift.max(1, (1 << 15) / width)) { start, end in
            for row in start..<end {
                let x = px + row &* width, y = py + row &* width
                let (mean, variance) = rowMoments(x, width)
                // The mean as a float plus a correction: x − m − mLow keeps the Double mean's precision.
                let m = Float(mean), mLow = Float(mean - Double(m)), r = Float(1 / (variance + eps).squareRoot())
                pMean[row] = m
                pLow[row] = mLow
                pRstd[row] = r
                let firstChannel = (row % groups) &* channelsPerGroup
                for local in 0..<channelsPerGroup {
                    let c = firstChannel &+ local
                    let a = r * pw[c], b = pb[c]
                    let xc = x + local &* spatial, yc = y + local &* spatial
                    var s = 0
                    while s < spatial { yc[s] = (xc[s] - m - mLow) * a + b; s &+= 1 }
                }
            }
        }
        var inputs = [input]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let x = input.detached()
        let needInput = input.requiresGradient
        let needWeight = weight?.requiresGradient ?? false, needBias = bias?.requiresGradient ?? false
        let weightValue = weight?.detached(), hasBias = bias != nil
        return record("groupNorm", out, inputs: inputs) { g in
            let (dx, dw, db) = groupNormBackward(
                x, g, means: means, meanCorrections: meanCorrections, inverseDeviations: inverseDeviations, weight: weightValue,
                groups: groups, needInput: needInput, needWeight: needWeight, needBias: needBias)
            var grads: [Tensor?] = [dx]
            if weightValue != nil { grads.append(dw) }
            if hasBias { grads.append(db) }
            return grads
        }
    }

    /// The fused group-norm backward. Per row (sample n, group) of `M` elements and per channel c
    /// in it: `S_c = Σ g`, `T_c = Σ g ⊙ (x − μ)`; with `A = Σ_c γ_c S_c` and `B = r Σ_c γ_c T_c`,
    /// `dx = r γ_c g − r A / M − (x − μ) r² B / M`, `dγ_c = Σ_n r T_c`, `dβ_c = Σ_n S_c`.
    static func groupNormBackward(_ input: Tensor, _ gradient: Tensor, means: Tensor, meanCorrections: Tensor, inverseDeviations: Tensor,
                                  weight: Tensor?, groups: Int, needInput: Bool, needWeight: Bool,
                                  needBias: Bool) -> (Tensor?, Tensor?, Tensor?) {
        let batch = input.shape[0], channels = input.shape[1]
        let spatial = Shape.count(Array(input.shape.dropFirst(2)))
        let channelsPerGroup = channels / groups, width = channelsPerGroup * spatial
        let rows = batch * groups
        let dx = needInput ? Tensor(uninitializedShape: input.shape) : nil
        // Per (n, c): Σ g and Σ g ⊙ (x − μ).
        let channelSums = Tensor(uninitializedShape: [batch, channels])
        let channelCrossSums = Tensor(uninitializedShape: [batch, channels])
        let scale = weight ?? Tensor.ones([channels])
        let px = input.storage.baseAddress, pg = gradient.storage.baseAddress, pw = scale.storage.baseAddress
        let pMean = means.storage.baseAddress, pLow = meanCorrections.storage.baseAddress
        let pRstd = inverseDeviations.storage.baseAddress
        let pS = channelSums.storage.baseAddress, pT = channelCrossSums.storage.baseAddress
        let pdx = dx?.storage.baseAddress
        let inverseWidth = 1 / Float(width)
        Parallel.forRanges(rows, minimumChunk: Swift.max(1, (1 << 15) / width)) { start, end in
            for row in start..<end {
                let x = px + row &* width, g = pg + row &* width
                let m = pMean[row], mLow = pLow[row], r = pRstd[row]
                let mv = SIMD16<Float>(repeating: m), lowVector = SIMD16<Float>(repeating: mLow)
                let firstChannel = (row % groups) &* channelsPerGroup
                // Channel c of sample n sits at n·C + c, and row = n·groups + group.
                let sumsBase = (row / groups) &* channels &+ firstChannel
                var a: Float = 0, b: Float = 0
                for local in 0..<channelsPerGroup {
                    let xc = x + local &* spatial, gc = g + local &* spatial
                    var sumG = SIMD16<Float>(), sumGX = SIMD16<Float>()
                    var s = 0
                    while s &+ 16 <= spatial {
                        let gv = load16(gc, s)
                        sumG += gv
                        sumGX += gv * (load16(xc, s) - mv - lowVector)
                        s &+= 16
                    }
                    var sg = sumG.sum(), sgx = sumGX.sum()
                    while s < spatial { sg += gc[s]; sgx += gc[s] * (xc[s] - m - mLow); s &+= 1 }
                    pS[sumsBase &+ local] = sg
                    pT[sumsBase &+ local] = sgx
                    let w = pw[firstChannel &+ local]
                    a += w * sg
                    b += w * sgx
                }
                guard let pdx else { continue }
                let constant = -r * a * inverseWidth
                let slope = -r * r * r * b * inverseWidth
                let out = pdx + row &* width
                for local in 0..<channelsPerGroup {
                    let alpha = r * pw[firstChannel &+ local]
                    let xc = x + local &* spatial, gc = g + local &* spatial, oc = out + local &* spatial
                    var s = 0
                    while s < spatial { oc[s] = alpha * gc[s] + slope * (xc[s] - m - mLow) + constant; s &+= 1 }
                }
            }
        }
        var dw: Tensor? = nil, db: Tensor? = nil
        if needWeight {
            var result = Tensor.zeros([channels])
            result.withUnsafeMutableBufferPointer { p in
                for n in 0..<batch {
                    for c in 0..<channels { p[c] += pRstd[n * groups + c / channelsPerGroup] * pT[n * channels + c] }
                }
            }
            dw = result
        }
        if needBias { db = channelSums.sum(alongAxes: [0]) }
        return (dx, dw, db)
    }

    /// Mean and biased variance of `count` contiguous floats in one pass: blocks of 512 elements
    /// are accumulated around a shift (the first element) in `SIMD16<Float>`, and the block sums
    /// are added in `Double`, so the variance keeps its precision when the mean is large.
    static func rowMoments(_ p: UnsafePointer<Float>, _ count: Int) -> (mean: Double, variance: Double) {
        let shiftDouble = Double(p[0])
        let (sum, sumOfSquares) = shiftedSums(p, count, shift: p[0])
        let n = Double(count)
        let shiftedMean = sum / n
        return (shiftDouble + shiftedMean, Swift.max(sumOfSquares / n - shiftedMean * shiftedMean, 0))
    }

    /// Sixteen floats from `p + offset` (unaligned load).
    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>, _ offset: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + offset).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Stores sixteen floats at `p` (unaligned store).
    @inline(__always)
    static func store16(_ value: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD16<Float>.self)
    }

    /// ``layerNorm(_:normalizedShape:weight:bias:epsilon:)`` composed from `mean`, `variance` and
    /// arithmetic, the naive reference for tests (its gradient comes from the composed ops).
    public static func referenceLayerNorm(_ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil,
                                          bias: Tensor? = nil, epsilon: Float = 1e-5) -> Tensor {
        let axes = Array((input.rank - normalizedShape.count)..<input.rank)
        let mean = input.mean(alongAxes: axes, keepingDimensions: true)
        let variance = input.variance(alongAxes: axes, correction: 0, keepingDimensions: true)
        var y = (input - mean) / (variance + epsilon).sqrt()
        if let weight { y = y * weight }
        if let bias { y = y + bias }
        return y
    }

    /// ``groupNorm(_:groups:weight:bias:epsilon:)`` composed from `mean`, `variance` and
    /// arithmetic, the naive reference for tests.
    public static func referenceGroupNorm(_ input: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil,
                                          epsilon: Float = 1e-5) -> Tensor {
        let grouped = input.reshaped([input.shape[0], groups, -1])
        let mean = grouped.mean(alongAxes: [2], keepingDimensions: true)
        let variance = grouped.variance(alongAxes: [2], correction: 0, keepingDimensions: true)
        var y = ((grouped - mean) / (variance + epsilon).sqrt()).reshaped(input.shape)
        let channelShape = [input.shape[1]] + [Int](repeating: 1, count: input.rank - 2)
        if let weight { y = y * weight.reshaped(channelShape) }
        if let bias { y = y + bias.reshaped(channelShape) }
        return y
    }
}
