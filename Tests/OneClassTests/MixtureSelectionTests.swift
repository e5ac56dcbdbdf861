import Foundation
import Imaging
import NN
@testable import OneClass
import Tensor
import Testing

/// Photo-grouped cross-validation of the mixture, the calibration defaults and their warnings.
struct MixtureSelectionTests {
    /// `groups` photos of `perGroup` samples in `d` dimensions: each photo's samples scatter
    /// around a photo centre; centres come from `clusters` well-separated clusters.
    static func groupedSamples(groups: Int, perGroup: Int, d: Int, clusters: Int, seed: UInt64) -> (Matrix, [Int]) {
        var generator = RandomGenerator(seed: seed)
        var elements: [Double] = []
        var labels: [Int] = []
        for group in 0..<groups {
            let cluster = group % clusters
            let centre = (0..<d).map { j in Double(cluster) * 12 * (j % 2 == 0 ? 1 : -1) + 0.3 * generator.nextStandardNormal() }
            for _ in 0..<perGroup {
                elements += centre.map { $0 + generator.nextStandardNormal() }
                labels.append(group * 7 + 3)   // arbitrary, non-contiguous labels
            }
        }
        return (Matrix(rows: labels.count, columns: d, elements: elements), labels)
    }

    @Test func foldsNeverSplitAPhotoAndAreBalanced() {
        let groups = (0..<23).flatMap { Array(repeating: $0 * 5, count: 1 + $0 % 4) }
        let folds = MixtureSelection.foldAssignment(groups: groups, folds: 5, seed: 9)
        var foldOfGroup: [Int: Int] = [:]
        for (group, fold) in zip(groups, folds) {
            #expect(foldOfGroup[group, default: fold] == fold, "photo \(group) straddles two folds")
            foldOfGroup[group] = fold
        }
        let photosPerFold = Dictionary(grouping: foldOfGroup.values, by: { $0 }).mapValues(\.count)
        #expect(photosPerFold.count == 5)
        #expect(photosPerFold.values.max()! - photosPerFold.values.min()! <= 1)
        // Deterministic for a seed, different for another.
        #expect(MixtureSelection.foldAssignment(groups: groups, folds: 5, seed: 9) == folds)
        #expect(MixtureSelection.foldAssignment(groups: groups, folds: 5, seed: 10) != folds)
    }

    @Test func crossValidationPrefersTheTrueNumberOfClusters() throws {
        let (x, groups) = Self.groupedSamples(groups: 20, perGroup: 6, d: 4, clusters: 2, seed: 1)
        let grid = MixtureSelection.Grid(componentCounts: [1, 2], covarianceTypes: [.diagonal], regularizations: [1e-3])
        let selection = try MixtureSelection.select(samples: x, groups: groups, grid: grid, folds: 4, seed: 3)
        print(selection.table)
        #expect(selection.chosen.componentCount == 2)
        #expect(selection.rows.count == 2 && selection.rows.allSatisfy { $0.succeeded && $0.foldScores.count == 4 })
        #expect(selection.groupCount == 20 && selection.sampleCount == 120)
        // One cluster: the simpler model is within one standard error and is chosen.
        let (y, yGroups) = Self.groupedSamples(groups: 20, perGroup: 6, d: 4, clusters: 1, seed: 2)
        let single = try MixtureSelection.select(samples: y, groups: yGroups, grid: grid, folds: 4, seed: 3)
        print(single.table)
        #expect(single.chosen.componentCount == 1)
        // The same inputs give the same table.
        #expect(try MixtureSelection.select(samples: y, groups: yGroups, grid: grid, folds: 4, seed: 3) == single)
    }

    @Test func oneStandardErrorRulePicksTheSimplestEligible() {
        func row(_ k: Int, _ type: GaussianMixture.CovarianceType, _ r: Double, mean: Double?, error: Double?) -> MixtureSelection.Row {
            MixtureSelection.Row(candidate: .init(componentCount: k, covarianceType: type, regularization: r),
                                 foldScores: mean.map { [$0] } ?? [], meanScore: mean, standardError: error,
                                 failure: mean == nil ? "failed" : nil)
        }
        let rows = [
            row(4, .full, 1e-3, mean: 100, error: 10),    // best
            row(1, .full, 1e-3, mean: 91, error: 3),      // within 1 s.e. (≥ 90), fewer parameters
            row(1, .full, 1e-2, mean: 92, error: 3),      // same parameters, larger regularisation: wins the tie
            row(1, .diagonal, 1e-3, mean: 50, error: 1),  // fewest parameters but not eligible
            row(1, .spherical, 1e-3, mean: nil, error: nil), // failed: never chosen
        ]
        let chosen = MixtureSelection.oneStandardErrorChoice(rows, featureCount: 10)
        #expect(chosen == .init(componentCount: 1, covarianceType: .full, regularization: 1e-2))
        #expect(MixtureSelection.oneStandardErrorChoice([rows[4]], featureCount: 10) == nil)
    }

    @Test func failingCandidatesStayInTheTableAndAreNotChosen() throws {
        let (x, groups) = Self.groupedSamples(groups: 6, perGroup: 2, d: 3, clusters: 1, seed: 4)
        // 20 components cannot be fitted on 8–10 training samples.
        let grid = MixtureSelection.Grid(candidates: [.init(componentCount: 20, covarianceType: .diagonal, regularization: 1e-3),
                                                      .init(componentCount: 1, covarianceType: .diagonal, regularization: 1e-3)])
        let selection = try MixtureSelection.select(samples: x, groups: groups, grid: grid, folds: 3, seed: 1)
        #expect(selection.rows[0].failure?.contains("components") == true)
        #expect(selection.chosen.componentCount == 1)
        #expect(selection.table.contains("failed"))
        // Round trip through JSON (failed rows have no score).
        let decoded = try JSONDecoder().decode(MixtureSelection.self, from: JSONEncoder().encode(selection))
        #expect(decoded == selection)
    }

    @Test func badGridsAndTooFewPhotosAreTypedErrors() {
        let (x, groups) = Self.groupedSamples(groups: 3, perGroup: 4, d: 3, clusters: 1, seed: 5)
        #expect(throws: DetectorError.self) {
            try MixtureSelection.select(samples: x, groups: groups, folds: 5, seed: 1)
        }
        do {
            _ = try MixtureSelection.select(samples: x, groups: groups, folds: 5, seed: 1)
        } catch {
            guard case let .notEnoughImages(message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("at least 5 photos, got 3"))
        }
        for grid in [MixtureSelection.Grid(candidates: []),
                     MixtureSelection.Grid(candidates: [.init(componentCount: 0, covarianceType: .full, regularization: 1e-3)]),
                     MixtureSelection.Grid(candidates: [.init(componentCount: 1, covarianceType: .full, regularization: -1)]),
                     MixtureSelection.Grid(candidates: Array(repeating: .init(componentCount: 1, covarianceType: .full, regularization: 1e-3), count: 2))] {
            #expect(throws: DetectorError.self) { try MixtureSelection.select(samples: x, groups: groups, grid: grid, folds: 2, seed: 1) }
        }
        #expect(throws: DetectorError.self) { try MixtureSelection.select(samples: x, groups: groups, folds: 1, seed: 1) }
    }

    @Test func calibrationWarnsWhenTheHeldOutSetCannotSupportTheTarget() throws {
        let calibration = Detector.Calibration.standard
        let needed = try #require(calibration.minimumSupportingCount)
        func upper(_ n: Int) -> Double {
            BinomialProportion.clopperPearsonInterval(successes: Int(Double(n) * 0.05), trials: n, confidenceLevel: 0.95).upperBound
        }
        print("a 5 % target needs about \(needed) calibration photos (upper bound there \(upper(needed)))")
        #expect(upper(needed) <= 0.1)
        #expect(needed == 1 || upper(needed - 1) > 0.1)
        #expect((needed...(needed + 200)).allSatisfy { upper($0) <= 0.1 })
        let small = BinomialProportion.clopperPearsonInterval(successes: 0, trials: 13, confidenceLevel: 0.95)
        let warning = try #require(Detector.calibrationWarning(calibration, imageCount: 13, interval: small))
        #expect(warning.contains("13 photos") && warning.contains("about \(needed)"))
        let large = BinomialProportion.clopperPearsonInterval(successes: 25, trials: 500, confidenceLevel: 0.95)
        #expect(Detector.calibrationWarning(calibration, imageCount: 500, interval: large) == nil)
    }

    @Test func configurationsValidateOnDecodingAndReadOldFiles() throws {
        // A configuration as Grain 0.1 wrote it: no mixtureChoice, no minimum crop size.
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(Detector.FitConfiguration.paper)) as? [String: Any])
        object["mixtureChoice"] = nil
        object["crops"] = ["count": 0, "size": 256]
        let old = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        #expect(!old.contains("mixtureChoice") && !old.contains("minimumSize") && old.contains("\"seed\":42"))
        let decoded = try JSONDecoder().decode(Detector.FitConfiguration.self, from: Data(old.utf8))
        #expect(decoded.mixtureChoice == .fixed && decoded.calibration == nil && decoded.crops == .wholeImage)
        #expect(decoded == .paper)
        let badCalibration = old.replacingOccurrences(of: "\"seed\":42", with: "\"seed\":42,\"calibration\":{\"fraction\":1.5,\"targetFalsePositiveRate\":0.05,\"confidenceLevel\":0.95}")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Detector.FitConfiguration.self, from: Data(badCalibration.utf8)) }
        let badCrops = old.replacingOccurrences(of: "\"count\":0", with: "\"count\":-3")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Detector.FitConfiguration.self, from: Data(badCrops.utf8)) }
        // The recommended configuration round-trips.
        let recommended = Detector.FitConfiguration()
        #expect(try JSONDecoder().decode(Detector.FitConfiguration.self, from: JSONEncoder().encode(recommended)) == recommended)
        #expect(recommended.calibration == .standard && recommended.mixtureChoice == .standard && recommended.crops == .standardFit)
        // The recommended readout is the mean over tokens (Results.md); the paper's is token 0.
        #expect(recommended.readout == .meanOfTokens && Detector.FitConfiguration.paper.readout == .firstToken)
        #expect(Detector.FitConfiguration(componentCount: 2).readout == .firstToken)
    }

    @Test func cropsOfSeveralSizesAreMultiplesOf16InRange() throws {
        let crops = try RandomCrops(count: 50, sizes: 32...128)
        let image = Image(width: 200, height: 100, channels: 3, repeating: 7)
        var generator = RandomGenerator(seed: 4)
        let sides = crops.crops(of: image, using: &generator).map { $0.width }
        #expect(sides.allSatisfy { $0 % 16 == 0 && (32...96).contains($0) })   // capped by the 100-px side
        #expect(Set(sides).count >= 4)
        // One size: the crops of earlier versions (no side drawn).
        var a = RandomGenerator(seed: 4), b = RandomGenerator(seed: 4)
        #expect(try RandomCrops(count: 3, sizes: 64...64).crops(of: image, using: &a) == RandomCrops(count: 3, size: 64).crops(of: image, using: &b))
        #expect(throws: RandomCropsError.self) { try RandomCrops(count: -1, sizes: 64...64) }
        #expect(throws: RandomCropsError.self) { try RandomCrops(count: 1, sizes: 60...64) }
    }

    /// The default fit: calibration by photo (no photo in both sets), the selection table and
    /// the warning stored in the file and read back.
    @Test func defaultFitCalibratesByPhotoAndStoresTheTable() throws {
        try DetectorFixture.withTemporaryFolder { folder in
            let weights = folder.appendingPathComponent("w.safetensors")
            try DetectorFixture.writeRandomWeights(to: weights)
            let images = try DetectorFixture.writeSyntheticImages(count: 15, in: folder)
            var configuration = Detector.FitConfiguration()
            configuration.crops = try RandomCrops(count: 3, sizes: 32...48)
            configuration.mixtureChoice = .crossValidated(
                grid: .init(componentCounts: [1, 2], covarianceTypes: [.diagonal], regularizations: [1e-3]), folds: 3)
            let extractor = try LowLevelFeatureExtractor(contentsOf: weights)
            let features = try Detector.fitFeatures(realImages: images, extractors: [extractor], configuration: configuration)
            #expect(Set(features.trainingGroups).isDisjoint(with: Set(features.calibrationGroups)))
            #expect(features.calibrationImageCount == 3 && features.trainingImageCount == 12)
            #expect(features.trainingSampleCount == 36)
            let provenance = Detector.Provenance(weightsFileName: "w", weightsSHA256: "", parametersSHA256: Detector.parametersDigest(of: extractor))
            let detector = try Detector.fit(features: features, extractors: [(extractor, provenance)], configuration: configuration)
            let summary = try #require(detector.fitSummary)
            #expect(summary.mixtureSelections.count == 1 && summary.mixtureSelections[0].rows.count == 2)
            #expect(detector.members[0].thresholdReport.rule == .calibrated)
            #expect(summary.warnings.count == 1 && summary.warnings[0].contains("cannot support"))
            // The path from images gives the same detector as the path from features.
            let direct = try Detector.fit(realImages: images, extractors: [(extractor, provenance)], configuration: configuration)
            #expect(direct.thresholds == detector.thresholds && direct.fitSummary == summary)
            let url = folder.appendingPathComponent("d.safetensors")
            try detector.save(to: url)
            let loaded = try Detector(contentsOf: url)
            #expect(loaded.fitSummary == summary)
        }
    }
}
