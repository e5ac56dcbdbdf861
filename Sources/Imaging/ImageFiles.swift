import Foundation

/// Lists the image files a command or a batch should process.
public enum ImageFiles {
    /// The file extensions taken from folders (compared case-insensitively).
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Expands `paths` in order: a folder becomes every file under it (recursively, hidden files
    /// and folders skipped) whose extension is in ``extensions``, sorted by path; anything else —
    /// a file of any extension, or a path that does not exist — is kept as given, so that reading
    /// it reports its own error next to its name.
    public static func expand(_ paths: [String]) -> [String] {
        var result: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                result.append(path)
                continue
            }
            var found: [String] = []
            for case let relative as String in FileManager.default.enumerator(atPath: path) ?? .init() {
                guard extensions.contains((relative as NSString).pathExtension.lowercased()),
                      !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
                let full = (path as NSString).appendingPathComponent(relative)
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &isFolder), !isFolder.boolValue {
                    found.append(full)
                }
            }
            result += found.sorted()
        }
        return result
    }

    /// ``expand(_:)`` as file URLs.
    public static func expand(_ paths: [String]) -> [URL] {
        expand(paths).map { URL(fileURLWithPath: $0) }
    }
}
