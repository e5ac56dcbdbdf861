import Foundation
import GrainTestSupport
import NN
import Tensor
import Testing

/// The extractor's readouts (`FeatureReadout`): token 0 (the authors') and the mean over tokens.
@Suite("Feature readouts")
struct FeatureReadoutTests {
    /// An extractor with seeded random weights (uniform ±0.2; LayerNorm scales near 1).
    static func randomExtractor(seed: UInt64 = 5) -> LowLevelFeatureExtractor {
        let extractor = LowLevelFeatureExtractor()
        var values: [String: Tensor] = [:]
        for (index, (key, parameter)) in extractor.namedParameters().enumerated() {
            var value = randomTensor(parameter.shape, seed: seed &+ UInt64(index), lower: -0.2, upper: 0.2)
            if key.contains("group") && key.hasSuffix(".weight") && parameter.shape.count == 3 { value = value + 1 }
            values[key] = value
        }
        extractor.update(values)
        return extractor
    }

    @Test func namesParseAndUnknownOnesAreATypedError() throws {
        #expect(try FeatureReadout(named: "token0") == .firstToken)
        #expect(try FeatureReadout(named: "mean") == .meanOfTokens)
        #expect(FeatureReadout.allCases.map(\.description) == ["token0", "mean"])
        #expect(throws: FeatureReadoutError.unknownName("median")) { try FeatureReadout(named: "median") }
        #expect(FeatureReadoutError.unknownName("x").description == "unknown feature readout 'x', expected one of: token0, mean")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([FeatureReadout].self, from: Data(#"["first"]"#.utf8)) }
        #expect(try JSONDecoder().decode([FeatureReadout].self, from: Data(#"["token0","mean"]"#.utf8)) == [.firstToken, .meanOfTokens])
    }

    @Test func tokenZeroIsTheAuthorsFeatureBitForBit() {
        let extractor = Self.randomExtractor()
        let tokens = randomTensor([2, 5, 3, 16, 16], seed: 9, lower: 0, upper: 1)
        #expect(extractor.features(tokens, readout: .firstToken).scalars == extractor.features(tokens).scalars)
        #expect(extractor.features(tokens, readout: .firstToken).shape == [2, 528])
    }

    @Test func meanIsTheMeanOfTheOutputTokens() {
        let extractor = Self.randomExtractor()
        let (batch, count, width) = (2, 5, LowLevelFeatureExtractor.featureDimension)
        let tokens = randomTensor([batch, count, 3, 16, 16], seed: 10, lower: 0, upper: 1)
        let mean = extractor.features(tokens, readout: .meanOfTokens)
        #expect(mean.shape == [batch, width])
        // By hand: every output token, summed in double precision and divided by N.
        let all = Tensor.withoutGradient { extractor.allTokens(tokens) }.scalars
        var expected = [Float](repeating: 0, count: batch * width)
        for b in 0..<batch {
            for j in 0..<width {
                var sum = 0.0
                for n in 0..<count { sum += Double(all[(b * count + n) * width + j]) }
                expected[b * width + j] = Float(sum / Double(count))
            }
        }
        let (maxAbs, maxRel, close) = closeness(mean.scalars, expected, rtol: 1e-5, atol: 1e-5)
        print("mean readout vs hand-computed mean of \(count) tokens: max abs \(maxAbs), max rel \(maxRel)")
        #expect(close)
        // Not token 0: the readouts differ on a random extractor.
        let first = extractor.features(tokens).scalars
        #expect(zip(first, mean.scalars).map { abs($0 - $1) }.max()! > 1e-3)
        // With one token the mean is that token (to the last block's rounding).
        let one = randomTensor([1, 1, 3, 16, 16], seed: 11, lower: 0, upper: 1)
        let single = closeness(extractor.features(one, readout: .meanOfTokens).scalars, extractor.features(one).scalars, rtol: 1e-5, atol: 1e-5)
        #expect(single.2)
    }
}
