#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import OneClass

/// A detector path that is a FIFO or a directory is refused at once (issue 17): before, the
/// reader's open() blocked until a writer appeared, so `grain detect --detector FIFO` hung.
@Suite("Detector files that are not files")
struct DetectorHostileFileTests {
    @Test func aFIFOOrADirectoryIsRefusedWithoutBlocking() throws {
        try DetectorFixture.withTemporaryFolder { folder in
            let fifo = folder.appendingPathComponent("model.detector")
            #expect(mkfifo(fifo.path, 0o600) == 0)
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var outcome: DetectorError?
            Thread.detachNewThread {
                do { _ = try Detector(contentsOf: fifo) } catch let error as DetectorError { outcome = error } catch {}
                done.signal()
            }
            if done.wait(timeout: .now() + 10) == .timedOut {
                Issue.record("loading a FIFO as a detector blocked for 10 s")
                let writer = open(fifo.path, O_WRONLY | O_NONBLOCK)
                if writer >= 0 { close(writer) }
                done.wait()
            }
            guard case .invalidDetectorFile(let path, let reason) = outcome else {
                Issue.record("unexpected outcome \(String(describing: outcome))")
                return
            }
            #expect(path == fifo.path)
            #expect(reason.contains("FIFO (named pipe), not a regular file"))
            #expect(throws: DetectorError.self) { try Detector(contentsOf: folder) }
        }
    }
}
