import ArgumentParser
import Evaluation
import Foundation
import Imaging
import OneClass

/// `grain explain`: the log-likelihood of each region of one image, drawn over it.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score each region of an image with a detector and draw the scores over it (region scores, not a segmentation).",
        discussion: """
            Windows of --window × --window patches (16 px each) slide over the image's patch grid by --stride patches; \
            each window's tokens are scored by every member exactly as a crop of that region would be. The PNG shows \
            the image in grey levels tinted by the mean margin (log-likelihood − threshold; with several members the \
            smallest) of the windows covering each pixel: blue typical of the real photos the detector was fitted on, \
            red atypical, with a colour bar and the whole image's verdict. A region score is not a segmentation and \
            does not localise generated content: windows overlap, each is scored without the rest of the image, and \
            low regions in real photos are usually texture the fit photos lacked. With --json the map (geometry, one \
            entry per window, the whole image's verdict) is printed as one JSON object; otherwise a short summary of \
            the most and least typical regions.
            """)

    @Option(help: "The detector file (from `grain fit`).") var detector: String
    @Option(name: .customLong("out"), help: "The PNG to write.") var output: String
    @Option(help: "Window side in patches of 16 px (8 = 128 px).") var window = 8
    @Option(help: "Step between windows in patches (at most --window).") var stride = 4
    @Option(help: "Refuse images that give more windows than this.") var maxWindows = 4_096
    @Option(help: "Widest the image is drawn in the PNG, in pixels.") var maxWidth = 1024
    @Flag(help: "Print the map as JSON.") var json = false
    @Option(help: "Largest image to decode, in pixels.") var pixelLimit = 89_478_485
    @Argument(help: "The image (JPEG or PNG).") var image: String

    func run() throws {
        guard output.lowercased().hasSuffix(".png") else { throw ValidationError("--out \(output): expected a .png file") }
        let configuration: EvidenceConfiguration
        do {
            configuration = try EvidenceConfiguration(windowPatches: window, stridePatches: stride, maximumWindows: maxWindows)
        } catch {
            throw ValidationError("--window \(window) --stride \(stride) --max-windows \(maxWindows): \(error)")
        }
        do {
            let model = try Detector(contentsOf: URL(fileURLWithPath: detector))
            let url = URL(fileURLWithPath: image)
            let picture = try Image(contentsOf: url, pixelLimit: pixelLimit)
            var progress: Progress?
            var reported = 0
            let map = try model.evidence(picture, configuration: configuration, path: url.path) { done, total in
                guard total > configuration.batchSize else { return }
                if progress == nil { progress = Progress(total: total, unit: "windows") }
                progress!.advance(by: done - reported)
                reported = done
            }
            try map.rendered(over: picture, maximumWidth: maxWidth).write(to: URL(fileURLWithPath: output), as: .png)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(map), as: UTF8.self))
            } else {
                printSummary(map)
            }
            printError("wrote \(output)")
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }

    /// The whole image's verdict and the three most and least typical regions.
    private func printSummary(_ map: EvidenceMap) {
        func numbers(_ values: [Double]) -> String { values.map { String(format: "%.2f", $0) }.joined(separator: ", ") }
        print("\(image): \(map.image.isGenerated ? "generated" : "real") as a whole (log-likelihood \(numbers(map.image.logLikelihoods)), "
              + "threshold \(numbers(map.thresholds)), margin \(String(format: "%.2f", map.imageMargin)))")
        let below = map.windows.filter { $0.margin < 0 }.count
        print("\(map.windows.count) windows of \(map.configuration.windowPixels) px, stride \(map.configuration.stridePixels) px, "
              + "on a \(map.gridRows)×\(map.gridColumns) patch grid; \(below) below the threshold")
        let sorted = map.windows.sorted { $0.margin < $1.margin }
        func line(_ window: EvidenceMap.Window) -> String {
            let r = window.rectangle
            return "  x \(r.x), y \(r.y), \(r.width)×\(r.height) px: margin " + String(format: "%.2f", window.margin)
        }
        print("least typical regions:")
        for window in sorted.prefix(3) { print(line(window)) }
        print("most typical regions:")
        for window in sorted.suffix(3).reversed() { print(line(window)) }
        print("region scores, not a segmentation: each window is scored without the rest of the image")
    }
}
