import Foundation
import Testing
import Tensor
import NN

/// Loading refuses NaN and ±∞ weights (issue 17): before the check, a state dict with one NaN
/// loaded silently and the extractor then produced finite-looking or NaN features.
@Suite("Non-finite weights")
struct NonFiniteWeightTests {
    @Test func theStrictLoaderRefusesANaNWeightNamingTheFileAndKeyAndAssignsNothing() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-nan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = LowLevelFeatureExtractor()
        var state = source.stateDictionary()
        let key = state.keys.sorted()[state.count / 2]
        var scalars = state[key]!.scalars
        scalars[scalars.count - 1] = .nan
        state[key] = Tensor(shape: state[key]!.shape, scalars: scalars)
        let url = folder.appendingPathComponent("nan.safetensors")
        try SafeTensors.write(state, to: url)

        let target = LowLevelFeatureExtractor()
        let before = target.stateDictionary()
        do {
            try target.load(contentsOf: url)
            Issue.record("a state dict holding NaN loaded")
        } catch let error as WeightFileError {
            #expect(error == .nonFiniteValues(path: url.path, key: key, count: 1, firstIndex: scalars.count - 1))
            #expect(error.description.hasPrefix(url.path + ": tensor '\(key)'"))
        }
        // Nothing was assigned: every parameter keeps its value.
        let after = target.stateDictionary()
        for (name, value) in before { #expect(after[name]!.scalars == value.scalars, "\(name) changed") }
    }
}
