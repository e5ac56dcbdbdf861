import Foundation

/// A JSON-lines results file that a batch command appends to and a killed run resumes from
/// (`grain detect --skip-done FILE`): every complete line is one row `{"path", …}`, an input whose
/// path already has a row is done, and each new row is appended with a single `write` of the whole
/// line, so a kill leaves at most one partial line at the end.
///
/// Opening the file drops that partial last line (bytes after the last newline, even if they happen
/// to be a whole JSON object without its newline): the input it belonged to has no row and is judged
/// again, so no input is lost and none gets two rows. A complete line that is not a JSON object with
/// a string `path` is an error naming the file and the line, not something to skip or overwrite.
/// One writer at a time: two runs appending to the same file are not coordinated.
struct ResumableResults {
    /// The results file.
    let url: URL
    /// The `path` of every row in the file, including the rows appended by this run.
    private(set) var donePaths: Set<String>
    /// How many complete rows the file held when it was opened.
    let existingRowCount: Int
    /// How many bytes of a partial last line were removed when the file was opened (0: none).
    let droppedByteCount: Int
    private let handle: FileHandle

    /// Opens (or creates) the results file at `url`, reads the paths it holds and truncates a
    /// partial last line.
    /// - Throws: `ValidationError` naming the file (and line) when it cannot be read or written or
    ///   holds a complete line that is not a row.
    init(url: URL) throws {
        self.url = url
        let path = url.path
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard !isFolder.boolValue else { throw ResultsFileError("\(path): is a folder, not a results file") }
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ResultsFileError("\(path): cannot create the results file")
            }
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ResultsFileError("\(path): cannot read the results file (\(error.localizedDescription))")
        }
        let newline = UInt8(ascii: "\n")
        let completeLength = (data.lastIndex(of: newline).map { $0 + 1 } ?? data.startIndex) - data.startIndex
        var paths = Set<String>(), rows = 0
        for (number, line) in data.prefix(completeLength).split(separator: newline, omittingEmptySubsequences: false).enumerated()
        where !line.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let rowPath = object["path"] as? String else {
                throw ResultsFileError("\(path):\(number + 1): not a results row (a JSON object with a \"path\")")
            }
            paths.insert(rowPath)
            rows += 1
        }
        do {
            handle = try FileHandle(forUpdating: url)
            if completeLength < data.count { try handle.truncate(atOffset: UInt64(completeLength)) }
            try handle.seekToEnd()
        } catch {
            throw ResultsFileError("\(path): cannot open the results file for appending (\(error.localizedDescription))")
        }
        donePaths = paths
        existingRowCount = rows
        droppedByteCount = data.count - completeLength
    }

    /// Whether `path` already has a row.
    func isDone(_ path: String) -> Bool { donePaths.contains(path) }

    /// Appends `line` (one JSON object, no newline) and its newline in one write, and marks `path` done.
    /// - Throws: `ValidationError` naming the file when the write fails (a full disk, say).
    mutating func append(_ line: String, for path: String) throws {
        do {
            try handle.write(contentsOf: Data((line + "\n").utf8))
        } catch {
            throw ResultsFileError("\(url.path): cannot append a row (\(error.localizedDescription))")
        }
        donePaths.insert(path)
    }
}

/// A results file that cannot be used: its message names the file (and the line) and the problem.
struct ResultsFileError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
