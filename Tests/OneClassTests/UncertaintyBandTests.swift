import Foundation
import OneClass
import Testing

@Suite struct UncertaintyBandTests {
    /// `N` evenly spread calibration scores `(i + 0.5) / N`: the empirical quantiles are the rates.
    static func uniform(_ count: Int) -> [Double] { (0..<count).map { (Double($0) + 0.5) / Double(count) } }

    @Test func scoresBelowInsideAndAboveTheBand() throws {
        let scores = Self.uniform(1000)
        let band = try UncertaintyBand(calibrationLogLikelihoods: scores.shuffled(), targetFalsePositiveRate: 0.05)
        let calibration = CalibratedThreshold(calibrationLogLikelihoods: scores, targetFalsePositiveRate: 0.05)
        #expect(band.threshold == calibration.threshold)
        #expect(band.decision(0.001) == .generated && band.decision(-50) == .generated)
        #expect(band.decision(0.5) == .real && band.decision(10) == .real)
        #expect(band.decision(calibration.threshold) == .uncertain && band.decision(0.049) == .uncertain)
        // The band's edges are the documented order statistics: a = ⌈N·p_L⌉, b = ⌊N·p_U⌋.
        let interval = calibration.falsePositiveRateInterval
        let a = Int((1000 * interval.lowerBound).rounded(.up))
        let b = Int((1000 * interval.upperBound).rounded(.down))
        #expect(band.generatedAtOrBelow == scores[a - 1] && band.realAbove == scores[b])
        #expect(band.decision(scores[a - 1]) == .generated && band.decision(scores[a - 1].nextUp) == .uncertain)
        #expect(band.decision(scores[b]) == .uncertain && band.decision(scores[b].nextUp) == .real)
        // Decided verdicts agree with the threshold; every score is decided one way.
        for score in stride(from: -0.1, through: 1.1, by: 0.001) {
            switch band.decision(score) {
            case .generated: #expect(!calibration.isReal(score))
            case .real: #expect(calibration.isReal(score))
            case .uncertain: #expect(score > scores[a - 1] && score <= scores[b])
            }
        }
        #expect(band.decision(.nan) == .uncertain)
    }

    /// The band narrows as the calibration set grows (in score units, here the same as rates).
    @Test func bandShrinksWithTheCalibrationSet() throws {
        var widths: [Double] = []
        for count in [100, 400, 1600, 6400] {
            let band = try UncertaintyBand(calibrationLogLikelihoods: Self.uniform(count), targetFalsePositiveRate: 0.05)
            let width = band.realAbove - (band.generatedAtOrBelow ?? -.infinity)
            widths.append(width)
            #expect(band.calibrationCount == count)
        }
        for (wider, narrower) in zip(widths, widths.dropFirst()) { #expect(narrower < wider * 0.7, "\(widths)") }
        // Close to the interval's width, 2·1.96·√(α(1−α)/N), for a large set.
        #expect(abs(widths[3] - 2 * 1.96 * (0.05 * 0.95 / 6400).squareRoot()) < 0.003, "\(widths)")
    }

    /// Tiny sets, ties and bad input.
    @Test func degenerateCalibrationSets() throws {
        // N·α < 1: nothing can be called generated; a score far above is still real.
        let tiny = try UncertaintyBand(calibrationLogLikelihoods: [1, 2, 3, 4, 5], targetFalsePositiveRate: 0.05)
        #expect(!tiny.canDecideGenerated && tiny.decision(-1000) == .uncertain)
        #expect(tiny.decision(1000) == .real)
        // A single sample: its own score is uncertain, above it real.
        let single = try UncertaintyBand(calibrationLogLikelihoods: [7], targetFalsePositiveRate: 0.1)
        #expect(single.decision(7) == .uncertain && single.decision(7.5) == .real && single.decision(6) == .uncertain)
        // All tied: no calibration score is strictly below the threshold, the realised rate is 0
        // (interval [0, p_U]), so nothing can be called generated; above the tie is real.
        let tied = try UncertaintyBand(calibrationLogLikelihoods: [Double](repeating: -3, count: 200), targetFalsePositiveRate: 0.05)
        #expect(!tied.canDecideGenerated && tied.realAbove == -3)
        #expect(tied.decision(-3) == .uncertain && tied.decision(-2.9) == .real && tied.decision(-3.1) == .uncertain)
        // Ties at the threshold inside a spread set: the tied value is uncertain, never generated.
        let spread = Self.uniform(1000).map { $0 < 0.06 && $0 > 0.03 ? 0.045 : $0 }
        let tiedBand = try UncertaintyBand(calibrationLogLikelihoods: spread, targetFalsePositiveRate: 0.05)
        #expect(tiedBand.decision(0.045) == .uncertain && tiedBand.decision(0.0) == .generated && tiedBand.decision(0.5) == .real)
        #expect(throws: UncertaintyBandError.emptyCalibration) { try UncertaintyBand(calibrationLogLikelihoods: [], targetFalsePositiveRate: 0.05) }
        #expect(throws: UncertaintyBandError.nonFiniteLogLikelihood(index: 1, value: .infinity)) {
            try UncertaintyBand(calibrationLogLikelihoods: [1, .infinity], targetFalsePositiveRate: 0.05)
        }
        #expect(throws: UncertaintyBandError.invalidRate(name: "targetFalsePositiveRate", value: 1)) {
            try UncertaintyBand(calibrationLogLikelihoods: [1, 2], targetFalsePositiveRate: 1)
        }
        #expect(throws: UncertaintyBandError.invalidRate(name: "confidenceLevel", value: 1)) {
            try UncertaintyBand(calibrationLogLikelihoods: [1, 2], targetFalsePositiveRate: 0.05, confidenceLevel: 1)
        }
        let calibration = CalibratedThreshold(calibrationLogLikelihoods: Self.uniform(100), targetFalsePositiveRate: 0.05)
        #expect(throws: UncertaintyBandError.mismatchedCalibration(expectedCount: 100, count: 99)) {
            try UncertaintyBand(calibration: calibration, calibrationLogLikelihoods: Array(Self.uniform(100).dropLast()))
        }
    }

    /// The band is stored with the detector: it round-trips and a disordered one is refused.
    @Test func bandRoundTripsAndIsValidatedOnDecoding() throws {
        let band = try UncertaintyBand(calibrationLogLikelihoods: Self.uniform(500), targetFalsePositiveRate: 0.05)
        let data = try JSONEncoder().encode(band)
        #expect(try JSONDecoder().decode(UncertaintyBand.self, from: data) == band)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["realAbove"] = -1.0
        #expect(throws: UncertaintyBandError.self) {
            try JSONDecoder().decode(UncertaintyBand.self, from: JSONSerialization.data(withJSONObject: object))
        }
    }
}
