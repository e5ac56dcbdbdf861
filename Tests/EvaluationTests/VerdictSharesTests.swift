import Evaluation
import OneClass
import Testing

/// The share of each verdict per source and the rate on the decided samples.
struct VerdictSharesTests {
    static func verdict(_ decision: Detector.Verdict.Decision, _ codes: [String] = []) -> Detector.Verdict {
        Detector.Verdict(logLikelihoods: [0], thresholds: [0], patchCount: 4, decision: decision,
                         reasons: codes.map { Detector.Verdict.Reason(code: $0, message: $0) }, perCropLogLikelihoods: nil)
    }

    @Test func countsVerdictsAndRatesOnTheDecidedOnes() {
        let shares = VerdictShares([
            (setting: "original", source: "real", isReal: true,
             verdicts: [Self.verdict(.real), Self.verdict(.real), Self.verdict(.real), Self.verdict(.generated),
                        Self.verdict(.uncertain, ["threshold-band", "patch-count", "patch-count"])]),
            (setting: "original", source: "gan", isReal: false,
             verdicts: [Self.verdict(.uncertain, ["patch-count"]), Self.verdict(.uncertain, ["threshold-band"])]),
        ])
        let real = shares.rows[0], gan = shares.rows[1]
        #expect(real.sampleCount == 5 && real.realCount == 3 && real.generatedCount == 1 && real.uncertainCount == 1)
        #expect(real.uncertainShare == 0.2 && real.generatedShareOfDecided == 0.25)
        // A reason code counts once per verdict.
        #expect(real.reasonCounts == ["threshold-band": 1, "patch-count": 1])
        #expect(gan.generatedShareOfDecided == nil && gan.uncertainShare == 1 && gan.reasonCounts == ["patch-count": 1, "threshold-band": 1])
        #expect(shares.table.contains("patch-count 1, threshold-band 1"))
        #expect(real.flipsFromOriginal == nil)
        #expect(VerdictShares.flips([.real, .real, .generated, .uncertain, .real], [.generated, .real, .real, .generated, .uncertain]) == 2)
        let withFlips = VerdictShares([(setting: "jpeg-q90", source: "real", isReal: true, verdicts: [Self.verdict(.real)])], flips: [3])
        #expect(withFlips.rows[0].flipsFromOriginal == 3)
    }
}
