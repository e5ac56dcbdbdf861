import Foundation
import Imaging
import Testing

/// Listing the images of folders for commands and batches.
@Suite struct ImageFilesTests {
    @Test func imageFilesExpandFoldersRecursivelyAndKeepOtherPaths() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-image-files-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let manager = FileManager.default
        try manager.createDirectory(at: folder.appendingPathComponent("b/deep"), withIntermediateDirectories: true)
        try manager.createDirectory(at: folder.appendingPathComponent(".hidden"), withIntermediateDirectories: true)
        for name in ["a.JPG", "b/c.png", "b/deep/d.jpeg", "b/notes.txt", ".hidden/e.png", ".f.png"] {
            try Data().write(to: folder.appendingPathComponent(name))
        }
        try manager.createDirectory(at: folder.appendingPathComponent("folder.png"), withIntermediateDirectories: true)
        let expanded: [String] = ImageFiles.expand([folder.path, "/nonexistent/x.png", folder.appendingPathComponent("b/notes.txt").path])
        #expect(expanded == ["a.JPG", "b/c.png", "b/deep/d.jpeg"].map { folder.appendingPathComponent($0).path }
            + ["/nonexistent/x.png", folder.appendingPathComponent("b/notes.txt").path])
    }
}
