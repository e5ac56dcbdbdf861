import Foundation
import Evaluation
import OneClass
import Testing

/// Tests/EvaluationTests/Fixtures/metrics_sklearn.json, written by Scripts/reference/metrics_fixtures.py.
struct MetricsFixtures: Decodable {
    struct Case: Decodable {
        let name: String
        let logLikelihoods: [Double]
        let labels: [Int]
        let threshold: Double
        let tn: Int, fp: Int, fn: Int, tp: Int
        let accuracy: Double, balancedAccuracy: Double, auc: Double, ap: Double
        let rocFpr: [Double], rocTpr: [Double], rocCutoffs: [Double?]
        let tprAt1PctFpr: Double, tprAt5PctFpr: Double

        var classes: [SampleClass] { labels.map { $0 == 1 ? .generated : .real } }
    }
    struct PCACase: Decodable {
        let x: [[Double]]
        let explainedVariance: [Double], explainedVarianceRatio: [Double], components: [[Double]]
    }
    let sklearnVersion: String
    let cases: [Case]
    let pca: PCACase

    static let shared: MetricsFixtures = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/metrics_sklearn.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(MetricsFixtures.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot read \(url.path): \(error)")
        }
    }()
}

@Suite("Metrics against scikit-learn")
struct MetricsTests {
    static let caseNames = MetricsFixtures.shared.cases.map(\.name)

    static func fixture(_ name: String) -> MetricsFixtures.Case {
        MetricsFixtures.shared.cases.first { $0.name == name }!
    }

    @Test("confusion counts, accuracy and balanced accuracy", arguments: caseNames)
    func thresholded(_ name: String) {
        let f = Self.fixture(name)
        let counts = ConfusionCounts(logLikelihoods: f.logLikelihoods, labels: f.classes, threshold: f.threshold)
        #expect(counts == ConfusionCounts(truePositives: f.tp, falsePositives: f.fp, trueNegatives: f.tn, falseNegatives: f.fn))
        #expect(abs(counts.accuracy - f.accuracy) < 1e-15)
        #expect(abs(counts.balancedAccuracy - f.balancedAccuracy) < 1e-15)
    }

    @Test("ROC curve, AUC, AP and TPR at fixed FPR", arguments: caseNames)
    func ranking(_ name: String) {
        let f = Self.fixture(name)
        let curve = ROCCurve(logLikelihoods: f.logLikelihoods, labels: f.classes)
        #expect(curve.falsePositiveRates == f.rocFpr, "\(name) FPR")
        #expect(curve.truePositiveRates == f.rocTpr, "\(name) TPR")
        #expect(curve.logLikelihoodCutoffs == f.rocCutoffs.map { $0 ?? -.infinity }, "\(name) cutoffs")
        #expect(abs(curve.area - f.auc) < 1e-14, "\(name) AUC \(curve.area) vs \(f.auc)")
        let reference = Metrics.referenceAreaUnderCurve(logLikelihoods: f.logLikelihoods, labels: f.classes)
        #expect(abs(reference - f.auc) < 1e-14, "\(name) pairwise AUC \(reference) vs \(f.auc)")
        let ap = Metrics.averagePrecision(logLikelihoods: f.logLikelihoods, labels: f.classes)
        #expect(abs(ap - f.ap) < 1e-14, "\(name) AP \(ap) vs \(f.ap)")
        #expect(curve.truePositiveRate(atFalsePositiveRate: 0.01) == f.tprAt1PctFpr)
        #expect(curve.truePositiveRate(atFalsePositiveRate: 0.05) == f.tprAt5PctFpr)

        let summary = DetectionMetrics(logLikelihoods: f.logLikelihoods, labels: f.classes, threshold: f.threshold)
        #expect(summary.areaUnderCurve == curve.area && summary.averagePrecision == ap)
        #expect(summary.realCount == f.tn + f.fp && summary.generatedCount == f.tp + f.fn)
    }

    @Test("per-generator table: one row per generator, then pooled; CSV quoting")
    func generatorTable() throws {
        let real = [3.0, 2.5, 2.0, 1.0]
        let table = GeneratorTable(real: real, generated: [("gan", [0.0, 1.5]), ("diffusion, v2", [2.2, 4.0])], threshold: 1.2)
        #expect(table.rows.map(\.generator) == ["gan", "diffusion, v2", "all"])
        #expect(table.rows[0].metrics.areaUnderCurve == Metrics.referenceAreaUnderCurve(
            logLikelihoods: real + [0.0, 1.5], labels: [.real, .real, .real, .real, .generated, .generated]))
        // Threshold 1.2: real 1.0 flagged (1 FP of 4); gan 0.0 flagged, 1.5 passed.
        #expect(table.rows[0].metrics.confusion == ConfusionCounts(truePositives: 1, falsePositives: 1, trueNegatives: 3, falseNegatives: 1))
        #expect(table.rows[2].metrics.generatedCount == 4)
        let lines = table.csvRows(setting: "jpeg-q90")
        #expect(lines.count == 3)
        #expect(lines[1].hasPrefix("jpeg-q90,\"diffusion, v2\",4,2,1.2,"))
        #expect(lines[0].split(separator: ",").count == GeneratorTable.csvHeader.split(separator: ",").count)
        let decoded = try JSONDecoder().decode(GeneratorTable.self, from: JSONEncoder().encode(table))
        #expect(decoded == table)
    }

    @Test("median, and balanced accuracy with one class")
    func edges() {
        #expect(Metrics.median([3, 1, 2]) == 2 && Metrics.median([4, 1, 2, 3]) == 2.5 && Metrics.median([]).isNaN)
        let onlyReal = ConfusionCounts(logLikelihoods: [1, 2, 3, 4], labels: [.real, .real, .real, .real], threshold: 2)
        #expect(onlyReal.balancedAccuracy == 0.75 && onlyReal.falsePositiveRate == 0.25)
    }
}
