import Evaluation
import Testing

/// The code block of Evaluation.docc, compiled and run.
@Suite struct EvaluationDocumentationExampleTests {
    @Test func overviewExample() {
        let scores: [Double] = [-10, -12, -11, -40, -35, -11.5]
        let labels: [SampleClass] = [.real, .real, .real, .generated, .generated, .generated]
        let auc = Metrics.areaUnderCurve(logLikelihoods: scores, labels: labels)   // 8/9: one pair misordered
        let roc = ROCCurve(logLikelihoods: scores, labels: labels)
        let svg = Figures.rocCurves([(name: "generator", curve: roc)]).svg()       // an SVG document
        #expect(abs(auc - 8.0 / 9.0) < 1e-12)
        #expect(svg.hasPrefix("<svg"))
    }
}
