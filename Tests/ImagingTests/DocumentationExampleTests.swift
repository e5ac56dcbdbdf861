import Foundation
import Imaging
import Testing

/// The code block of Imaging.docc, compiled and run (file paths point to a scratch folder).
@Suite struct ImagingDocumentationExampleTests {
    @Test func overviewExample() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-imaging-doc-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let photo = folder.appendingPathComponent("photo.jpg").path
        try Image(width: 40, height: 30, channels: 3, repeating: 128).write(toFile: photo, as: .jpeg(quality: 90))

        let image = try Image(contentsOfFile: photo)                  // RGB, 8-bit
        let small = image.resized(width: 256, height: 256, filter: .bicubic)
        try small.write(to: folder.appendingPathComponent("small.png"), as: .png)
        let pixels = small.tensor()                                   // [3, 256, 256] in [0, 1]
        #expect(pixels.shape == [3, 256, 256])
    }
}
