import OneClass
import Tensor
import Testing

/// Threshold rules and the exact binomial interval.
@Suite struct ThresholdTests {
    /// 0, 1, …, count − 1 in a scrambled order.
    func scrambled(_ count: Int) -> [Double] {
        var generator = RandomGenerator(seed: 5)
        return (0..<count).map(Double.init).shuffled(using: &generator)
    }

    @Test func badInputsGiveTypedErrors() {
        #expect(throws: ThresholdError.noLogLikelihoods) { try LikelihoodThreshold.validate(logLikelihoods: [], rate: 0.1) }
        #expect(throws: ThresholdError.rateOutOfRange(1)) { try LikelihoodThreshold.validate(logLikelihoods: [1, 2], rate: 1) }
        #expect(throws: ThresholdError.rateOutOfRange(-0.1)) { try LikelihoodThreshold.validate(logLikelihoods: [1, 2], rate: -0.1) }
        #expect(throws: ThresholdError.notANumber(index: 1)) { try LikelihoodThreshold.validate(logLikelihoods: [1, .nan], rate: 0.1) }
        #expect(throws: ThresholdError.confidenceLevelOutOfRange(1)) {
            try CalibratedThreshold.validate(calibrationLogLikelihoods: [1, 2, 3], targetFalsePositiveRate: 0.1, confidenceLevel: 1)
        }
        #expect(throws: ThresholdError.noLogLikelihoods) {
            try CalibratedThreshold.validate(calibrationLogLikelihoods: [], targetFalsePositiveRate: 0.1)
        }
        #expect(throws: Never.self) { try CalibratedThreshold.validate(calibrationLogLikelihoods: [1, 2, 3], targetFalsePositiveRate: 0) }
    }

    @Test func authorsRuleTakesIndexFloorOfNTimesRate() {
        #expect(LikelihoodThreshold.authors(trainingLogLikelihoods: scrambled(10_000)) == 5)       // ⌊10000·0.0005⌋
        #expect(LikelihoodThreshold.authors(trainingLogLikelihoods: scrambled(1_999)) == 0)        // ⌊0.9995⌋
        #expect(LikelihoodThreshold.authors(trainingLogLikelihoods: scrambled(100), rate: 0.05) == 5)
        #expect(LikelihoodThreshold.authors(trainingLogLikelihoods: [-3, -1, -2], rate: 0.5) == -2)  // ⌊1.5⌋ = 1
    }

    // Reference values from SciPy 1.17.1:
    //   python3 -c "from scipy.stats import beta; print(repr(beta.ppf(0.025, 20, 1981)), repr(beta.ppf(0.975, 21, 1980)))"
    //   → 0.006118657542743463 0.015402125783560048
    //   python3 -c "from scipy.stats import beta; print(repr(beta.ppf(0.975, 1, 500)))"
    //   → 0.007350610051907784
    //   python3 -c "from scipy.stats import beta; print(repr(beta.ppf(0.025, 7, 9994)), repr(beta.ppf(0.975, 8, 9993)))"
    //   → 0.00028148114574279455 0.0014417323091497692
    @Test func calibratedThresholdReportsRealisedRateAndClopperPearsonInterval() {
        let calibrated = CalibratedThreshold(calibrationLogLikelihoods: scrambled(2_000).map { -$0 / 2 }, targetFalsePositiveRate: 0.01)
        // Sorted ascending: −999.5, −999, …; index ⌊2000·0.01⌋ = 20 holds −989.5.
        #expect(calibrated.threshold == -989.5)
        #expect(calibrated.falsePositiveCount == 20 && calibrated.calibrationCount == 2_000)
        #expect(calibrated.realisedFalsePositiveRate == 0.01)
        expectClose([calibrated.falsePositiveRateInterval.lowerBound, calibrated.falsePositiveRateInterval.upperBound],
                    [0.006118657542743463, 0.015402125783560048], rtol: 1e-9, "Clopper–Pearson 20/2000")
        #expect(calibrated.isReal(-989.5) && !calibrated.isReal(-989.6))

        let none = CalibratedThreshold(calibrationLogLikelihoods: scrambled(500), targetFalsePositiveRate: 0.001)
        #expect(none.threshold == 0 && none.falsePositiveCount == 0)
        #expect(none.falsePositiveRateInterval.lowerBound == 0)
        expectClose([none.falsePositiveRateInterval.upperBound], [0.007350610051907784], rtol: 1e-9, "Clopper–Pearson 0/500")

        let interval = BinomialProportion.clopperPearsonInterval(successes: 7, trials: 10_000)
        expectClose([interval.lowerBound, interval.upperBound], [0.00028148114574279455, 0.0014417323091497692],
                    rtol: 1e-9, "Clopper–Pearson 7/10000")
        #expect(BinomialProportion.clopperPearsonInterval(successes: 4, trials: 4).upperBound == 1)
    }

    @Test func tiesAtTheThresholdAreNotFlagged() {
        let calibrated = CalibratedThreshold(calibrationLogLikelihoods: [1, 2, 2, 2, 3, 4, 5, 6, 7, 8], targetFalsePositiveRate: 0.3)
        #expect(calibrated.threshold == 2)
        #expect(calibrated.falsePositiveCount == 1)  // only the 1 is strictly below
    }

    // Reference values from SciPy 1.17.1:
    //   python3 -c "from scipy.special import betainc; print(repr(betainc(2.5, 3.5, 0.3)), repr(betainc(20, 1981, 0.01)),
    //               repr(betainc(0.5, 0.5, 0.999)), repr(betainc(200.0, 300.0, 0.42)))"
    //   → 0.29675298929566646 0.5301894837340093 0.9798649583666235 0.8196010664172663
    //   python3 -c "from scipy.stats import beta; print(repr(beta.ppf(0.3, 2.5, 3.5)), repr(beta.ppf(1e-6, 3, 4)))"
    //   → 0.3017723232475053 0.003694265299405909
    @Test func betaDistributionMatchesScipy() {
        expectClose([BetaDistribution.cumulativeProbability(0.3, alpha: 2.5, beta: 3.5),
                     BetaDistribution.cumulativeProbability(0.01, alpha: 20, beta: 1981),
                     BetaDistribution.cumulativeProbability(0.999, alpha: 0.5, beta: 0.5),
                     BetaDistribution.cumulativeProbability(0.42, alpha: 200, beta: 300)],
                    [0.29675298929566646, 0.5301894837340093, 0.9798649583666235, 0.8196010664172663],
                    rtol: 1e-10, "regularised incomplete beta")
        expectClose([BetaDistribution.quantile(0.3, alpha: 2.5, beta: 3.5), BetaDistribution.quantile(1e-6, alpha: 3, beta: 4)],
                    [0.3017723232475053, 0.003694265299405909], rtol: 1e-10, "beta quantile")
        #expect(BetaDistribution.cumulativeProbability(0, alpha: 2, beta: 3) == 0)
        #expect(BetaDistribution.cumulativeProbability(1, alpha: 2, beta: 3) == 1)
    }

    @Test func jointRuleNeedsEveryScoreToClearItsThreshold() {
        let joint = JointThreshold(thresholds: [-10, -20])
        #expect(joint.isReal([-5, -15]))
        #expect(joint.isReal([-10, -20]))
        #expect(!joint.isReal([-5, -25]))
        #expect(!joint.isReal([-11, -15]))
        #expect(joint.falsePositiveRate(on: [[-5, -15], [-5, -25], [-11, -15], [0, 0]]) == 0.5)
    }
}
