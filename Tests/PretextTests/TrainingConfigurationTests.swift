import Foundation
import NN
import Pretext
import Tensor
import Testing

/// Bad training settings, from Swift, the command line or a checkpoint's JSON, give typed errors.
struct TrainingConfigurationTests {
    @Test func badSettingsAreRefused() {
        func refused(_ setting: String, _ make: () throws(TrainingConfigurationError) -> TrainingConfiguration,
                     sourceLocation: SourceLocation = #_sourceLocation) {
            do throws(TrainingConfigurationError) {
                _ = try make()
                Issue.record("\(setting): accepted", sourceLocation: sourceLocation)
            } catch {
                guard case .invalid(let named, _, _) = error else { return }
                #expect(named == setting, sourceLocation: sourceLocation)
            }
        }
        refused("batchSize") { () throws(TrainingConfigurationError) in try TrainingConfiguration(batchSize: 0) }
        refused("cropSize") { () throws(TrainingConfigurationError) in try TrainingConfiguration(cropSize: 40) }
        refused("cropSize") { () throws(TrainingConfigurationError) in try TrainingConfiguration(cropSize: 0) }
        refused("epochs") { () throws(TrainingConfigurationError) in try TrainingConfiguration(epochs: 0) }
        refused("checkpointInterval") { () throws(TrainingConfigurationError) in try TrainingConfiguration(checkpointInterval: -1) }
        refused("learningRate") { () throws(TrainingConfigurationError) in try TrainingConfiguration(learningRate: .nan) }
        refused("learningRate") { () throws(TrainingConfigurationError) in try TrainingConfiguration(learningRate: -1) }
    }

    @Test func aNegativeRegressionWeightIsRefused() {
        #expect(throws: TrainingConfigurationError.invalid(setting: "regressionWeight", value: "-1.0", requirement: "finite and ≥ 0")) {
            _ = try PretextLoss(regression: .l2, regressionWeight: -1)
        }
    }

    @Test func decodingValidates() throws {
        let good = try TrainingConfiguration(task: .pretext(PretextLoss()), batchSize: 4, cropSize: 32)
        let json = String(decoding: try JSONEncoder().encode(good), as: UTF8.self)
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8)) == good)
        let zeroBatch = json.replacingOccurrences(of: "\"batchSize\":4", with: "\"batchSize\":0")
        #expect(zeroBatch != json)
        #expect(throws: TrainingConfigurationError.self) {
            _ = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(zeroBatch.utf8))
        }
        let negativeWeight = json.replacingOccurrences(of: "\"regressionWeight\":1", with: "\"regressionWeight\":-2")
        #expect(negativeWeight != json)
        #expect(throws: TrainingConfigurationError.self) {
            _ = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(negativeWeight.utf8))
        }
    }

    @Test func noTrainingSamplesIsAnError() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("grain-empty-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        #expect {
            _ = try ExtractorTrainer(extractor: LowLevelFeatureExtractor(), configuration: try TrainingConfiguration(),
                                     training: [], validation: [], output: output)
        } throws: { error in
            guard case .noTrainingSamples(let path) = error as? TrainingDataError else { return false }
            return path == output.path
        }
    }
}
