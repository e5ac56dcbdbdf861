import Foundation
import Tensor

/// A resampling filter, as Pillow's `Image.Resampling` (except NEAREST).
///
/// All of them are convolution filters whose support is stretched by the scale factor when
/// downsampling, so downscaling averages every source pixel under the footprint (antialiasing),
/// exactly as Pillow's `Image.resize` does.
public enum ResamplingFilter: Sendable, CaseIterable {
    /// Box (area average), support 0.5.
    case box
    /// Triangle (linear interpolation), support 1 — Pillow's `BILINEAR`.
    case bilinear
    /// Hamming-windowed sinc, support 1.
    case hamming
    /// Keys cubic with a = −0.5, support 2 — Pillow's `BICUBIC`, its default for `resize`.
    case bicubic
    /// Lanczos-3 windowed sinc, support 3.
    case lanczos

    /// Half the filter's width in source pixels at scale 1.
    var support: Double {
        switch self {
        case .box: return 0.5
        case .bilinear, .hamming: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    /// The filter's weight at distance `x`; the expressions follow Pillow's Resample.c operation
    /// by operation so that the doubles — and therefore the fixed-point weights — are identical.
    func weight(_ x: Double) -> Double {
        switch self {
        case .box:
            return x > -0.5 && x <= 0.5 ? 1 : 0
        case .bilinear:
            let x = abs(x)
            return x < 1 ? 1 - x : 0
        case .hamming:
            let x = abs(x)
            if x == 0 { return 1 }
            if x >= 1 { return 0 }
            let t = x * Double.pi
            return sin(t) / t * (Double(Float(0.54)) + Double(Float(0.46)) * cos(t))
        case .bicubic:
            let a = -0.5
            let x = abs(x)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .lanczos:
            guard x >= -3 && x < 3 else { return 0 }
            return ResamplingFilter.sinc(x) * ResamplingFilter.sinc(x / 3)
        }
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let t = x * Double.pi
        return sin(t) / t
    }
}

/// One axis of a separable resampling: for each output index, the first source index, how many
/// source samples contribute, and their fixed-point weights (`kernelSize` slots per output).
struct ResamplingCoefficients {
    /// Fractional bits of the fixed-point weights: 32 − 8 − 2, as Pillow's `PRECISION_BITS`.
    static let precisionBits: Int32 = 22

    let kernelSize: Int
    var first: [Int]
    var count: [Int]
    var weights: [Int32]

    /// Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`, for the whole source
    /// extent (`box = (0, inputSize)`).
    init(inputSize: Int, outputSize: Int, filter: ResamplingFilter) {
        // Pillow passes the box as floats and subtracts them in float.
        let scale = Double(Float(inputSize) - Float(0)) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        kernelSize = Int(support.rounded(.up)) * 2 + 1
        first = [Int](repeating: 0, count: outputSize)
        count = [Int](repeating: 0, count: outputSize)
        weights = [Int32](repeating: 0, count: outputSize * kernelSize)
        var k = [Double](repeating: 0, count: kernelSize)
        let one = Double(1 << ResamplingCoefficients.precisionBits)
        for output in 0..<outputSize {
            let center = 0 + (Double(output) + 0.5) * scale
            var total = 0.0
            let inverseScale = 1.0 / filterScale
            var low = Int(center - support + 0.5)       // truncation, as C's (int) cast
            if low < 0 { low = 0 }
            var high = Int(center + support + 0.5)
            if high > inputSize { high = inputSize }
            let taps = high - low
            for x in 0..<taps {
                let w = filter.weight((Double(x + low) - center + 0.5) * inverseScale)
                k[x] = w
                total += w
            }
            for x in 0..<taps where total != 0 { k[x] /= total }
            first[output] = low
            count[output] = taps
            for x in 0..<taps {
                let value = k[x]
                weights[output * kernelSize + x] = value < 0 ? Int32(-0.5 + value * one) : Int32(0.5 + value * one)
            }
        }
    }
}

extension Image {
    /// The image resampled to `width × height`, as Pillow's `image.resize((width, height), filter)`
    /// on an 8-bit image: a horizontal pass into an 8-bit intermediate, then a vertical pass, with
    /// Pillow's coefficients and 22-bit fixed-point arithmetic — so the bytes equal Pillow's.
    ///
    /// Channels are filtered independently. Pillow premultiplies alpha before resizing RGBA/LA
    /// images; this does not, so 2- and 4-channel results differ from Pillow's where alpha < 255.
    ///
    /// - Precondition: `width, height ≥ 1`.
    public func resized(width: Int, height: Int, filter: ResamplingFilter = .bicubic) -> Image {
        precondition(width >= 1 && height >= 1, "Image.resized: target size must be at least 1×1, got \(width)×\(height)")
        if width == self.width && height == self.height { return self }
        let vertical = ResamplingCoefficients(inputSize: self.height, outputSize: height, filter: filter)
        var source = self
        var rowOffset = 0
        if width != self.width {
            // Only the source rows the vertical pass reads.
            let firstRow = vertical.first[0]
            let lastRow = vertical.first[height - 1] + vertical.count[height - 1]
            let horizontal = ResamplingCoefficients(inputSize: self.width, outputSize: width, filter: filter)
            source = Image.resampleHorizontally(self, rows: firstRow..<lastRow, coefficients: horizontal)
            rowOffset = firstRow
        }
        if height != self.height {
            return Image.resampleVertically(source, rowOffset: rowOffset, coefficients: vertical, outputHeight: height)
        }
        return source
    }

    /// Clamps a fixed-point sum to a byte, as Pillow's `clip8`.
    @inline(__always)
    static func clip8(_ sum: Int32) -> UInt8 {
        let value = sum >> ResamplingCoefficients.precisionBits
        return value < 0 ? 0 : (value > 255 ? 255 : UInt8(truncatingIfNeeded: value))
    }

    /// Pillow's `ImagingResampleHorizontal_8bpc` over `rows` of `input`.
    static func resampleHorizontally(_ input: Image, rows: Range<Int>, coefficients: ResamplingCoefficients) -> Image {
        let channels = input.channels
        let outputWidth = coefficients.first.count
        let inputStride = input.width * channels
        let outputStride = outputWidth * channels
        let kernelSize = coefficients.kernelSize
        let half: Int32 = 1 << (ResamplingCoefficients.precisionBits - 1)
        return input.pixels.withUnsafeBufferPointer { source in
            coefficients.weights.withUnsafeBufferPointer { weights in
                coefficients.first.withUnsafeBufferPointer { first in
                    coefficients.count.withUnsafeBufferPointer { count in
                        Image(width: outputWidth, height: rows.count, channels: channels) { out in
                            let sourceBase = source.baseAddress!, outBase = out.baseAddress!
                            let weightBase = weights.baseAddress!
                            Parallel.forRanges(rows.count, minimumChunk: max(1, 65_536 / max(1, outputStride * kernelSize))) { start, end in
                                for row in start..<end {
                                    let inRow = sourceBase + (rows.lowerBound + row) * inputStride
                                    let outRow = outBase + row * outputStride
                                    for x in 0..<outputWidth {
                                        let k = weightBase + x * kernelSize
                                        let taps = count[x]
                                        let inPixel = inRow + first[x] * channels
                                        for c in 0..<channels {
                                            var sum = half
                                            for t in 0..<taps {
                                                sum = sum &+ Int32(inPixel[t &* channels &+ c]) &* k[t]
                                            }
                                            outRow[x &* channels &+ c] = clip8(sum)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Pillow's `ImagingResampleVertical_8bpc`; `rowOffset` is the source row that `input`'s
    /// first row stands for.
    static func resampleVertically(_ input: Image, rowOffset: Int, coefficients: ResamplingCoefficients,
                                   outputHeight: Int) -> Image {
        let channels = input.channels
        let stride = input.width * channels
        let kernelSize = coefficients.kernelSize
        let half: Int32 = 1 << (ResamplingCoefficients.precisionBits - 1)
        return input.pixels.withUnsafeBufferPointer { source in
            coefficients.weights.withUnsafeBufferPointer { weights in
                coefficients.first.withUnsafeBufferPointer { first in
                    coefficients.count.withUnsafeBufferPointer { count in
                        Image(width: input.width, height: outputHeight, channels: channels) { out in
                            let sourceBase = source.baseAddress!, outBase = out.baseAddress!
                            let weightBase = weights.baseAddress!
                            Parallel.forRanges(outputHeight, minimumChunk: max(1, 65_536 / max(1, stride * kernelSize))) { start, end in
                                for y in start..<end {
                                    let k = weightBase + y * kernelSize
                                    let taps = count[y]
                                    let inTop = sourceBase + (first[y] - rowOffset) * stride
                                    let outRow = outBase + y * stride
                                    for i in 0..<stride {
                                        var sum = half
                                        for t in 0..<taps {
                                            sum = sum &+ Int32(inTop[t &* stride &+ i]) &* k[t]
                                        }
                                        outRow[i] = clip8(sum)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
