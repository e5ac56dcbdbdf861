import Foundation
import Imaging
import Tensor

/// Progress of a long stage on standard error: count, rate and estimated time left, one line
/// rewritten in place (the idea of `grain`'s `Progress`; an example cannot import an executable target).
struct Progress {
    var total: Int
    let unit: String
    private let start = Date()
    private var done = 0
    private var lastLine = Date.distantPast

    init(total: Int, unit: String) {
        self.total = total
        self.unit = unit
    }

    mutating func advance(by count: Int = 1) {
        done += count
        guard done >= total || Date().timeIntervalSince(lastLine) >= 1 else { return }
        lastLine = Date()
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(max(total - done, 0)) / rate : 0
        let line = String(format: "\r  [%d/%d] %.2f %@/s, ETA %.0f s   ", done, total, rate, unit, remaining)
        FileHandle.standardError.write(Data(line.utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// A line on standard error.
func status(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes images as `prefix-0000.png`, … into `folder` (each atomically); returns the files.
@discardableResult
func writeImages(_ images: [Image], to folder: URL, prefix: String) throws -> [URL] {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return try images.enumerated().map { index, image in
        let url = folder.appendingPathComponent(String(format: "%@-%04d.png", prefix, index))
        try image.encoded(as: .png).write(to: url, options: .atomic)
        return url
    }
}

/// The images `prefix-0000.png` … `prefix-(count−1).png` of `folder`, if all are there and readable.
func readImages(from folder: URL, prefix: String, count: Int) -> [Image]? {
    var images: [Image] = []
    for index in 0..<count {
        guard let image = try? Image(contentsOf: folder.appendingPathComponent(String(format: "%@-%04d.png", prefix, index))) else { return nil }
        images.append(image)
    }
    return images
}

/// Seconds since `start`, formatted.
func elapsed(since start: Date) -> String {
    String(format: "%.0f s", Date().timeIntervalSince(start))
}
