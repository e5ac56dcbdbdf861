import Foundation
@testable import Tensor
import Testing

/// Stray temporary files: a killed writer's are removed, those of writers still running (another
/// shard in the same folder, on this host or another) are kept.
@Suite("AtomicFile temporaries of other writers")
struct AtomicFileSweepTests {
    @Test func onlyTemporariesOfFinishedWritersAreRemoved() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grain-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images/ab"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let host = AtomicFile.hostTag
        // A process that has exited (reaped): its PID is free.
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let files = [
            "images/ab/.3.png.tmp-\(host)-\(getpid())-a1": true,                 // this process: running
            "images/ab/.4.png.tmp-\(host)-\(finished.processIdentifier)-b2": false, // exited
            "images/ab/.5.png.tmp-other-node-17-c3": true,                        // another host, fresh
            "images/ab/.6.png.tmp-other-node-18-d4": false,                       // another host, two hours old
            ".manifest.jsonl.tmp-12345": false,                                // older name, two hours old
        ]
        for (path, _) in files { #expect(FileManager.default.createFile(atPath: folder.appendingPathComponent(path).path, contents: Data([1]))) }
        let old = Date(timeIntervalSinceNow: -7200)
        for path in ["images/ab/.6.png.tmp-other-node-18-d4", ".manifest.jsonl.tmp-12345"] {
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
