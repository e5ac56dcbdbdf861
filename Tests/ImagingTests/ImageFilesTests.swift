#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Imaging
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
        #expect(ImageFiles.list([folder.path]).allSatisfy { $0.problem == nil })
    }

    /// Issue 17: the walk dropped, with no error and no count, files with non-UTF-8 names, symbolic
    /// link loops and dangling links, and a FIFO in a folder read as a permission problem. Each is
    /// now an entry with its reason (the invalid name's bytes escaped), in path order with the
    /// readable files; a link to a folder is not followed (so a cycle of folder links ends).
    @Test func theWalkReportsEveryImageNamedEntryItCannotUse() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-hostile-walk-\(UUID().uuidString)")
        let manager = FileManager.default
        try manager.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let invalidName = Array(folder.path.utf8) + Array("/bad-".utf8) + [0xFF, 0xFE] + Array(".png".utf8)
        defer {
            _ = (invalidName + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { unlink($0.baseAddress!) } }
            try? manager.removeItem(at: folder)
        }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        try Data([1, 2, 3]).write(to: folder.appendingPathComponent("good.png"))
        try Data([1, 2, 3]).write(to: folder.appendingPathComponent("sub/deep.jpg"))
        try manager.createSymbolicLink(atPath: path("loop-a.png"), withDestinationPath: path("loop-b.png"))
        try manager.createSymbolicLink(atPath: path("loop-b.png"), withDestinationPath: path("loop-a.png"))
        try manager.createSymbolicLink(atPath: path("dangling.jpeg"), withDestinationPath: path("no-such-target.jpeg"))
        try manager.createSymbolicLink(atPath: path("link.png"), withDestinationPath: path("good.png"))
        try manager.createSymbolicLink(atPath: path("sub/up"), withDestinationPath: folder.path)  // a folder cycle
        #expect(mkfifo(path("pipe.png"), 0o600) == 0)
        #expect(mkfifo(path("pipe.txt"), 0o600) == 0)  // not image-named: not listed, as a text file is not
        let descriptor = (invalidName + [0]).withUnsafeBufferPointer {
            $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
        }
        #expect(descriptor >= 0)
        close(descriptor)

        let entries = ImageFiles.list([folder.path])
        let loop = "symbolic link loop (too many levels of symbolic links)"
        #expect(entries == [
            ImageFiles.Entry(path: path("bad-") + "\\xff\\xfe.png",
                             problem: "the file name is not valid UTF-8 (its invalid bytes are shown as \\xNN); rename it to read it"),
            ImageFiles.Entry(path: path("dangling.jpeg"), problem: "dangling symbolic link (its target does not exist)"),
            ImageFiles.Entry(path: path("good.png")),
            ImageFiles.Entry(path: path("link.png")),
            ImageFiles.Entry(path: path("loop-a.png"), problem: loop),
            ImageFiles.Entry(path: path("loop-b.png"), problem: loop),
            ImageFiles.Entry(path: path("pipe.png"), problem: "it is a FIFO (named pipe), not a regular file"),
            ImageFiles.Entry(path: path("sub/deep.jpg")),
        ])
        // expand keeps every entry's path, so nothing is lost even by callers that only read files.
        #expect((ImageFiles.expand([folder.path]) as [String]) == entries.map(\.path))
        // The readers name a loop and a dangling link given directly (not "NSCocoaErrorDomain error 256").
        #expect(throws: ImageError.unreadable(path: path("loop-a.png"), reason: loop)) { try Image(contentsOf: folder.appendingPathComponent("loop-a.png")) }
        #expect(throws: ImageError.unreadable(path: path("dangling.jpeg"), reason: "dangling symbolic link (its target does not exist)")) {
            try Image(contentsOf: folder.appendingPathComponent("dangling.jpeg"))
        }
    }

    /// A photo in a format Grain does not decode (dev2 holds a WebP and a TIFF) was dropped from
    /// folder listings without a word; it is now an entry with the reason, and a text file is
    /// still not listed.
    @Test func imagesInFormatsGrainDoesNotReadAreReportedNotDropped() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-unread-formats-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["a.png", "b.WEBP", "c.tif", "d.txt", "e.heic"] { try Data([1]).write(to: folder.appendingPathComponent(name)) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        #expect(ImageFiles.list([folder.path]) == [
            ImageFiles.Entry(path: path("a.png")),
            ImageFiles.Entry(path: path("b.WEBP"), problem: "image format webp is not read (Grain reads JPEG and PNG); convert it to PNG to include it"),
            ImageFiles.Entry(path: path("c.tif"), problem: "image format tif is not read (Grain reads JPEG and PNG); convert it to PNG to include it"),
            ImageFiles.Entry(path: path("e.heic"), problem: "image format heic is not read (Grain reads JPEG and PNG); convert it to PNG to include it"),
        ])
    }

    @Test func invalidUTF8BytesAreEscapedAndValidTextIsKept() {
        #expect(ImageFiles.escaped(Array("photo-é.png".utf8)) == "photo-é.png")
        #expect(ImageFiles.escaped([0x61, 0xFF, 0x62]) == "a\\xffb")
        // A truncated two-byte sequence, then a valid one.
        #expect(ImageFiles.escaped([0xC3, 0x41, 0xC3, 0xA9]) == "\\xc3Aé")
        #expect(ImageFiles.escaped([0xED, 0xA0, 0x80]) == "\\xed\\xa0\\x80")  // an encoded surrogate is not UTF-8
    }
}
