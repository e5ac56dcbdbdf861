import Foundation
import Imaging
import NN
import OneClass
import Testing

/// The image tokenizer refuses a patch cap below 1 from Swift and from JSON (a detector file's
/// `tokenizer`) with a typed error.
struct ImageTokenizerTests {
    @Test func aCapBelowOneIsRefused() throws {
        #expect(throws: PatchTokenizerError.nonPositivePatchCap(0)) { _ = try ImageTokenizer(maximumPatches: 0) }
        #expect(throws: PatchTokenizerError.nonPositivePatchCap(-1)) {
            _ = try JSONDecoder().decode(ImageTokenizer.self, from: Data(#"{"cropMode": "centered", "maximumPatches": -1}"#.utf8))
        }
        let decoded = try JSONDecoder().decode(ImageTokenizer.self, from: Data(#"{"cropMode": "authorsCompatible", "maximumPatches": 9}"#.utf8))
        #expect(decoded == (try ImageTokenizer(cropMode: .authorsCompatible, maximumPatches: 9)))
        #expect(ImageTokenizer() == (try ImageTokenizer(cropMode: .centered, maximumPatches: 19_200)))
    }
}
