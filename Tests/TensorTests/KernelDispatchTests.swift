import Foundation
import Testing
@testable import Tensor
import GrainTestSupport

// The run-time dispatched C kernels (AVX2, AVX-512) against Tensor's Swift SIMD kernels (the
// portable path) and against Double-precision or composed references: GELU and its derivative,
// softmax and log-softmax rows, at every level this CPU supports. Also the blocked layer-norm
// forward for wide rows against the composed reference.

@Suite struct KernelDispatchTests {
    /// Every level this machine can run, portable first.
    var levels: [KernelLevel] { KernelLevel.allCases.filter { $0 <= Kernels.hardwareLevel } }

    func gelu(_ xs: [Float], level: KernelLevel, derivative: Bool = false, streaming: Bool = false) -> [Float] {
        var out = [Float](repeating: -1, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                guard let input = x.baseAddress, let output = y.baseAddress else { return }
                Tensor.geluForward(input, into: output, count: xs.count, derivative: derivative, level: level,
                                   streaming: streaming)
            }
        }
        return out
    }

    func softmax(_ xs: [Float], rows: Int, level: KernelLevel, logarithm: Bool, streaming: Bool = false) -> [Float] {
        var out = [Float](repeating: -1, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                Tensor.softmaxForward(x.baseAddress!, y.baseAddress!, outer: rows, n: xs.count / rows, inner: 1,
                                      logarithm: logarithm, level: level, streaming: streaming)
            }
        }
        return out
    }

    /// `a` and `b` agree to `rtol` relative (or both NaN, or both the same infinity).
    func agree(_ a: Float, _ b: Float, rtol: Float, atol: Float = 0) -> Bool {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
        if a.isInfinite || b.isInfinite { return a == b }
        return Swift.abs(a - b) <= atol + rtol * Swift.max(Swift.abs(a), Swift.abs(b))
    }

    @Test func environmentValueSelectsLevel() {
        #expect(Kernels.level(requested: nil, hardware: .avx512) == .avx512)
        #expect(Kernels.level(requested: "portable", hardware: .avx512) == .portable)
        #expect(Kernels.level(requested: "AVX2", hardware: .avx512) == .avx2)
        #expect(Kernels.level(requested: "avx512", hardware: .avx2) == .avx2, "capped at the hardware")
        #expect(Kernels.level(requested: "sse9", hardware: .avx2) == .avx2, "unknown values ignored")
        #expect(Kernels.activeLevel <= Kernels.hardwareLevel)
        #expect((Kernels.table(.portable) == nil))
        #expect((Kernels.table(Kernels.hardwareLevel) == nil) == (Kernels.hardwareLevel == .portable))
    }

    @Test func geluEveryLevelWithinOneMillionthOfExact() {
        var xs = (0...26_003).map { Float(-13) + Float($0) * 0.001 }
        xs += randomTensor([1003], seed: 5, lower: -6, upper: 6).scalars
        let portable = gelu(xs, level: .portable)
        let portableDerivative = gelu(xs, level: .portable, derivative: true)
        for level in levels {
            let fast = gelu(xs, level: level), derivative = gelu(xs, level: level, derivative: true)
            var worst = 0.0, worstDerivative = 0.0, worstAgainstSwift = 0.0
            for (i, x) in xs.enumerated() {
                let v = Double(x)
                let cdf = 0.5 * Foundation.erfc(-v / 2.0.squareRoot())
                let pdf = Foundation.exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
                worst = Swift.max(worst, Swift.abs(Double(fast[i]) - v * cdf) / Swift.max(Swift.abs(v * cdf), 1e-30))
                worstDerivative = Swift.max(worstDerivative,
                                            Swift.abs(Double(derivative[i]) - (cdf + v * pdf)) / Swift.max(cdf + Swift.abs(v) * pdf, 1e-30))
                // The derivative crosses 0 near x = −0.75: compare relative to its terms' scale.
                worstAgainstSwift = Swift.max(worstAgainstSwift, Swift.abs(Double(derivative[i]) - Double(portableDerivative[i]))
                                                  / Swift.max(cdf + Swift.abs(v) * pdf, 1e-30))
            }
            #expect(worst < 1e-6, "\(level): largest relative error \(worst)")
            #expect(worstDerivative < 2e-6, "\(level): derivative's largest relative error \(worstDerivative)")
            #expect(zip(fast, portable).allSatisfy { agree($0, $1, rtol: 1e-6) }, "\(level) against the Swift kernel")
            #expect(worstAgainstSwift < 2e-6, "\(level) derivative against the Swift kernel: \(worstAgainstSwift)")
        }
    }

    @Test func geluEveryLengthAndSpecialValues() {
        let specials: [Float] = [0, -0.0, .infinity, -.infinity, .nan, -50, 50, 1e-30, -1e-30, Float.leastNormalMagnitude / 1000, -Float.leastNormalMagnitude / 1000,
                                 .leastNonzeroMagnitude, 1e30, -1e30, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, -13.5, 13.5]
        // Every length up to five vectors of sixteen lanes, so each count of tail lanes is covered.
        let pool = randomTensor([83], seed: 9, lower: -8, upper: 8).scalars
        for level in levels {
            for count in 0...83 {
                let xs = Array(pool.prefix(count))
                let portable = gelu(xs, level: .portable)
                for streaming in [false, true] {
                    let fast = gelu(xs, level: level, streaming: streaming)
                    #expect(zip(fast, portable).allSatisfy { agree($0, $1, rtol: 1e-6) },
                            "\(level), \(count) elements, streaming \(streaming)")
                }
            }
            // Streaming stores start at a vector boundary: outputs at every offset from one.
            let long = randomTensor([300], seed: 10, lower: -8, upper: 8).scalars
            let longPortable = gelu(long, level: .portable), longDerivative = gelu(long, level: .portable, derivative: true)
            for offset in 0..<17 {
                let xs = Array(long[offset...])
                #expect(gelu(xs, level: level, streaming: true) == gelu(xs, level: level), "\(level) streaming at offset \(offset)")
                #expect(zip(gelu(xs, level: level, streaming: true), longPortable[offset...]).allSatisfy { agree($0, $1, rtol: 1e-6) })
                #expect(gelu(xs, level: level, derivative: true, streaming: true) == gelu(xs, level: level, derivative: true))
                #expect(zip(gelu(xs, level: level, derivative: true), longDerivative[offset...])
                    .allSatisfy { agree($0, $1, rtol: 2e-6, atol: 1e-6) })
            }
            let fast = gelu(specials, level: level), portable = gelu(specials, level: .portable)
            for (x, (y, p)) in zip(specials, zip(fast, portable)) {
                #expect(agree(y, p, rtol: 1e-6, atol: 8 * .leastNonzeroMagnitude), "\(level): gelu(\(x)) = \(y), Swift kernel \(p)")
            }
            #expect(fast[0] == 0 && fast[1] == 0 && fast[2] == .infinity && fast[4].isNaN)
            #expect(fast[5] == 0 && fast[6] == 50 && fast[7] == 0.5e-30 && fast[8] == -0.5e-30)
            #expect(fast[12] == 1e30 && fast[13] == 0 && fast[14] == .greatestFiniteMagnitude)
            let derivative = gelu(specials, level: level, derivative: true)
            let portableDerivative = gelu(specials, level: .portable, derivative: true)
            for (x, (d, p)) in zip(specials, zip(derivative, portableDerivative)) {
                #expect(agree(d, p, rtol: 2e-6, atol: 1e-12), "\(level): gelu′(\(x)) = \(d), Swift kernel \(p)")
            }
        }
    }

    @Test func softmaxRowsEveryLevelMatchReference() {
        for level in levels {
            for n in [1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 47, 100, 4099, 8203] {  // 8203: longer than the streaming scratch row
                let rows = 3
                let x = randomTensor([rows, n], seed: UInt64(n), lower: -40, upper: 40)
                for logarithm in [false, true] {
                    let fast = softmax(x.scalars, rows: rows, level: level, logarithm: logarithm)
                    let streamed = softmax(x.scalars, rows: rows, level: level, logarithm: logarithm, streaming: true)
                    #expect(zip(fast, streamed).allSatisfy { agree($0, $1, rtol: 1e-6, atol: 1e-7) },
                            "\(level) log \(logarithm) rows of \(n): streaming against cached stores")
                    let portable = softmax(x.scalars, rows: rows, level: .portable, logarithm: logarithm)
                    let reference = (logarithm ? Tensor.referenceLogSoftmax(x) : Tensor.referenceSoftmax(x)).scalars
                    let label = "\(level) \(logarithm ? "logSoftmax" : "softmax") rows of \(n)"
                    #expect(zip(fast, reference).allSatisfy { agree($0, $1, rtol: 2e-6, atol: logarithm ? 2e-6 : 1e-7) },
                            "\(label) against the composed reference")
                    #expect(zip(fast, portable).allSatisfy { agree($0, $1, rtol: 2e-6, atol: logarithm ? 2e-6 : 1e-7) },
                            "\(label) against the Swift kernel")
                }
            }
        }
    }

    @Test func softmaxRowsSpecialValues() {
        let nan = Float.nan, inf = Float.infinity
        // Rows of 19 (a vector or two plus a tail), one special pattern each.
        var rows: [[Float]] = []
        func row(_ values: [Int: Float]) -> [Float] { (0..<19).map { values[$0] ?? Float($0) * 0.25 } }
        rows.append(row([3: nan]))                                 // NaN in the vector part
        rows.append(row([18: nan]))                                // NaN in the tail
        rows.append(row([0: -inf, 17: -inf]))                      // −∞ entries get 0
        rows.append([Float](repeating: -inf, count: 19))           // all −∞: NaN, as PyTorch
        rows.append(row([5: 1e30, 6: -1e30]))                      // huge spread: one-hot
        rows.append(row([2: inf]))                                 // +∞: NaN (∞ − ∞), as PyTorch
        rows.append(row([1: .leastNormalMagnitude / 1000, 2: -.leastNormalMagnitude / 1000]))               // subnormal inputs
        rows.append(row([4: -100]))                                // exp underflows to 0
        let xs = rows.flatMap { $0 }
        for level in levels {
            for (logarithm, streaming) in [(false, false), (true, false), (false, true), (true, true)] {
                let fast = softmax(xs, rows: rows.count, level: level, logarithm: logarithm, streaming: streaming)
                let portable = softmax(xs, rows: rows.count, level: .portable, logarithm: logarithm)
                for (i, (y, p)) in zip(fast, portable).enumerated() {
                    #expect(agree(y, p, rtol: 2e-6, atol: 1e-7), "\(level) log \(logarithm) streaming \(streaming): row \(i / 19) lane \(i % 19): \(y) vs \(p)")
                }
                #expect(fast[0..<38].allSatisfy { $0.isNaN }, "\(level): a NaN makes its row NaN")
                #expect(fast[57..<76].allSatisfy { $0.isNaN }, "\(level): an all −∞ row is NaN")
                if !logarithm {
                    #expect(fast[38] == 0 && fast[55] == 0, "\(level): −∞ gets probability 0")
                    #expect(fast[76 + 5] == 1 && fast[76 + 6] == 0, "\(level): one-hot for a huge spread")
                }
            }
        }
    }

    @Test func exponentiateEveryLevelMatchesSwift() {
        let pool = randomTensor([83], seed: 18, lower: -100, upper: 0).scalars
            + [0, -0.0, -.infinity, .nan, -87.3, -87.4, -200, -Float.leastNormalMagnitude / 1000]
        // Within the contract x ≤ shift; below ln(FLT_MIN) ≈ −87.34 either side may flush to 0.
        for level in levels where level != .portable {
            for count in 0...pool.count {
                let xs = Array(pool.suffix(count))
                var fast = [Float](repeating: -1, count: count), portable = fast
                var fastSum: Float = 0, portableSum: Float = 0
                xs.withUnsafeBufferPointer { x in
                    guard let input = x.baseAddress else { return }
                    fast.withUnsafeMutableBufferPointer { fastSum = Tensor.exponentiate(input, shift: 0, into: $0.baseAddress!, count, level: level) }
                    portable.withUnsafeMutableBufferPointer {
                        portableSum = Tensor.exponentiate(input, shift: 0, into: $0.baseAddress!, count, level: .portable)
                    }
                }
                #expect(zip(fast, portable).allSatisfy { agree($0, $1, rtol: 5e-7, atol: 2e-38) }, "\(level) exp of \(count)")
                #expect(agree(fastSum, portableSum, rtol: 1e-6), "\(level) sum of \(count): \(fastSum) vs \(portableSum)")
                // In place, with a shift.
                var inPlace = xs.map { $0 + 3 }
                let shifted = inPlace.withUnsafeMutableBufferPointer { p -> Float in
                    guard let base = p.baseAddress else { return 0 }
                    return Tensor.exponentiate(base, shift: 3, into: base, count, level: level)
                }
                #expect(zip(inPlace, portable).allSatisfy { agree($0, $1, rtol: 1e-5, atol: 1e-30) }, "\(level) in place, \(count)")
                #expect(agree(shifted, portableSum, rtol: 1e-5), "\(level) in-place sum of \(count)")
            }
        }
    }

    @Test func tensorOpsUseTheActiveLevel() {
        let x = randomTensor([5, 67], seed: 3, lower: -6, upper: 6)
        #expect(x.gelu().scalars == gelu(x.scalars, level: Kernels.activeLevel))
        #expect(x.softmax().scalars == softmax(x.scalars, rows: 5, level: Kernels.activeLevel, logarithm: false))
        #expect(x.logSoftmax().scalars == softmax(x.scalars, rows: 5, level: Kernels.activeLevel, logarithm: true))
    }

    @Test func normalizeKernelBitIdenticalToSwift() {
        let xs = randomTensor([203], seed: 15, lower: -3, upper: 3).scalars
        let ws = randomTensor([203], seed: 16, lower: 0.5, upper: 1.5).scalars
        let bs = randomTensor([203], seed: 17, lower: -1, upper: 1).scalars
        for level in levels where level != .portable {
            let normalize = Kernels.table(level)!.normalize!
            for (offset, count) in [(0, 0), (0, 1), (3, 7), (1, 64), (5, 190), (0, 203)] {
                for streaming: Int32 in [0, 1] {
                    var c = [Float](repeating: 0, count: 203), swift = c
                    xs.withUnsafeBufferPointer { x in ws.withUnsafeBufferPointer { w in bs.withUnsafeBufferPointer { b in
                        c.withUnsafeMutableBufferPointer { y in
                            normalize(x.baseAddress! + offset, y.baseAddress! + offset, w.baseAddress! + offset, b.baseAddress! + offset,
                                      count, 0.25, 1e-8, 1.75, streaming)
                            Kernels.table(level)!.storeFence()
                        }
                        swift.withUnsafeMutableBufferPointer { y in
                            Tensor.normalizeRow(x.baseAddress! + offset, into: y.baseAddress! + offset, weight: w.baseAddress! + offset,
                                                bias: b.baseAddress! + offset, count: count, mean: 0.25, meanCorrection: 1e-8,
                                                inverseDeviation: 1.75, clamp: nil)
                        }
                    } } }
                    #expect(c == swift, "\(level) normalize offset \(offset) count \(count) streaming \(streaming)")
                }
            }
        }
    }

    @Test func blockedLayerNormMatchesReference() {
        // Rows wide enough for the blocked path, a partial last column block, a large mean.
        let width = Tensor.layerNormBlockedWidth + 37
        let normalizedShape = [width]
        let x = randomTensor([3, width], seed: 11, lower: -2, upper: 2) + 50
        let weight = randomTensor(normalizedShape, seed: 12, lower: 0.5, upper: 1.5).requiringGradient()
        let bias = randomTensor(normalizedShape, seed: 13, lower: -1, upper: 1).requiringGradient()
        let input = x.requiringGradient()
        let fast = Tensor.layerNorm(input, normalizedShape: normalizedShape, weight: weight, bias: bias)
        let reference = Tensor.referenceLayerNorm(input, normalizedShape: normalizedShape, weight: weight, bias: bias)
        expectClose(fast, reference, rtol: 1e-4, atol: 1e-4, "blocked layerNorm forward")
        // Each row normalised alone takes the row-by-row path: the same numbers.
        for row in 0..<3 {
            let alone = Tensor.layerNorm(x.sliced(axis: 0, start: row, end: row + 1), normalizedShape: normalizedShape,
                                         weight: weight.detached(), bias: bias.detached())
            let blockedRow = Array(fast.scalars[(row * width)..<((row + 1) * width)])
            let rowByRow = alone.scalars
            let largest = zip(blockedRow, rowByRow).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(largest <= 2e-6, "row \(row): blocked and row-by-row paths differ by \(largest)")
        }
        let clamped = Tensor.layerNorm(x, normalizedShape: normalizedShape, weight: weight.detached(), bias: bias.detached(),
                                       clampedTo: -1...1)
        #expect(clamped.scalars == fast.detached().hardtanh(min: -1, max: 1).scalars, "fused clamp on the blocked path")
        // The backward uses the statistics the blocked forward stored.
        let upstream = randomTensor([3, width], seed: 14)
        let (gFast, gReference) = (
            { (fast * upstream).sum().backward(); let g = [input.gradient!, weight.gradient!, bias.gradient!]; return g }(),
            { () -> [Tensor] in
                let x2 = x.requiringGradient(), w2 = weight.detached().requiringGradient(), b2 = bias.detached().requiringGradient()
                (Tensor.referenceLayerNorm(x2, normalizedShape: normalizedShape, weight: w2, bias: b2) * upstream).sum().backward()
                return [x2.gradient!, w2.gradient!, b2.gradient!]
            }())
        for (label, (a, b)) in zip(["dx", "dγ", "dβ"], zip(gFast, gReference)) {
            expectClose(a, b, rtol: 1e-3, atol: 1e-3, "blocked layerNorm \(label)")
        }
    }
}
