import Foundation

/// Progress of a long command on standard error: count, rate and estimated time left, one line
/// rewritten in place (results go to standard output).
struct Progress {
    var total: Int
    let unit: String
    private var start = Date()
    private var done = 0
    /// Items finished by an earlier run: shown in the count, left out of the rate.
    private var resumed = 0

    init(total: Int, unit: String) {
        self.total = total
        self.unit = unit
    }

    /// Starts the count at `count` items an earlier run finished (a resumed job), so that the
    /// rate and ETA reflect this run's work only.
    mutating func resume(from count: Int) {
        done = count
        resumed = count
        start = Date()
    }

    mutating func advance(by count: Int = 1) {
        done += count
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done - resumed) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        let line = String(format: "\r[%d/%d] %.2f %@/s, ETA %.0f s   ", done, total, rate, unit, remaining)
        FileHandle.standardError.write(Data(line.utf8))
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
