import Foundation
import Pretext
import Testing

/// Stray temporary files: a killed writer's are removed, those of writers still running (another
/// shard in the same folder, on this host or another) are kept.
@Suite("AtomicFile temporaries")
struct AtomicFileTests {
    @Test func onlyTemporariesOfFinishedWritersAreRemoved() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images/ab"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var name = [CChar](repeating: 0, count: 256)
        #expect(gethostname(&name, name.count) == 0)
        let host = String(cString: name)
        // A process that has exited (reaped): its PID is free.
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let files = [
            "images/ab/.3.png.tmp-\(host)-\(getpid())": true,                 // this process: running
            "images/ab/.4.png.tmp-\(host)-\(finished.processIdentifier)": false, // exited
            "images/ab/.5.png.tmp-other-node-17": true,                        // another host, fresh
            "images/ab/.6.png.tmp-other-node-18": false,                       // another host, two hours old
            ".manifest.jsonl.tmp-12345": false,                                // older name, two hours old
        ]
        for (path, _) in files { #expect(FileManager.default.createFile(atPath: folder.appendingPathComponent(path).path, contents: Data([1]))) }
        let old = Date(timeIntervalSinceNow: -7200)
        for path in ["images/ab/.6.png.tmp-other-node-18", ".manifest.jsonl.tmp-12345"] {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: folder.appendingPathComponent(path).path)
        }
        AtomicFile.removeStrayTemporaryFiles(in: folder)
        for (path, kept) in files {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).path) == kept, "\(path)")
        }
        // A write leaves no temporary behind and is not disturbed by the sweep.
        try AtomicFile.write(Data("x".utf8), to: folder.appendingPathComponent("images/ab/7.png"))
        #expect(try String(contentsOf: folder.appendingPathComponent("images/ab/7.png"), encoding: .utf8) == "x")
    }
}
