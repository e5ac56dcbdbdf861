// Usage: swift run DetectFolder DETECTOR.safetensors FOLDER
//
// Prints one line per image: the verdict, the log-likelihood(s) against the threshold(s), the path;
// unreadable files get their own error line and the others are still judged. Exits with 1 when any
// file could not be read.
import Foundation
import Imaging
import OneClass

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: DetectFolder DETECTOR.safetensors FOLDER\n".utf8))
    exit(2)
}

let detector: Detector
do {
    detector = try Detector(contentsOfFile: arguments[1])
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}

let files: [URL] = ImageFiles.expand([arguments[2]])
var failures = 0
detector.detect(files: files) { _, file, result in
    switch result {
    case .success(let verdict):
        let scores = zip(verdict.logLikelihoods, verdict.thresholds)
            .map { String(format: "%.1f %@ %.1f", $0, $0 >= $1 ? "≥" : "<", $1) }
            .joined(separator: ", ")
        // Act on `decision`: real, generated, or uncertain (outside the fitted domain, or too close
        // to the threshold for the calibration to tell), with the reasons.
        print("\(verdict.decision.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  \(scores)  \(file.path)")
        for reason in verdict.reasons { print("           \(reason.code): \(reason.message)") }
    case .failure(let error):
        failures += 1
        print("error      \(error)")
    }
}
exit(failures == 0 ? 0 : 1)
