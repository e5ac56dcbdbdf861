import ArgumentParser
import Imaging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's arguments as the system passed them: bytes, which need not be UTF-8 (a file
/// name on Linux is any bytes but `/` and NUL).
///
/// `CommandLine.arguments` replaces every byte that is not valid UTF-8 with U+FFFD, so a path
/// such as `$'\xff.png'` reached the commands as `"\u{FFFD}.png"` and was reported as missing.
/// Here an argument that is not UTF-8 is parsed as text with its invalid bytes written `\xNN`
/// (as ``ImageFiles/escaped(_:)`` writes folder entries), and the image paths of `detect` and
/// `features` are mapped back to the argument's bytes, so that the file is listed under its
/// escaped name with the reason it cannot be read. Any other argument that is not UTF-8 is
/// refused before any work starts, with its escaped bytes.
enum CommandLineArguments {
    /// Every argument after the executable's name, as its bytes.
    static let bytes: [[UInt8]] = (1..<Int(CommandLine.argc)).map { index in
        guard let argument = CommandLine.unsafeArgv[index] else { return [] }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(argument).assumingMemoryBound(to: UInt8.self), count: strlen(argument)))
    }

    /// The arguments as text for parsing: valid UTF-8 as it is, other bytes written `\xNN`.
    static let text: [String] = bytes.map(ImageFiles.escaped)

    /// The bytes of the arguments that are not valid UTF-8, by their escaped text.
    static let notUTF8: [String: [UInt8]] = {
        var table: [String: [UInt8]] = [:]
        for (argument, text) in zip(bytes, text) where String(validating: argument, as: UTF8.self) == nil {
            table[text] = argument
        }
        return table
    }()

    /// The bytes a parsed path argument stands for: those of the argument it was parsed from
    /// when that was not UTF-8, else its UTF-8.
    static func pathBytes(_ path: String) -> [UInt8] {
        notUTF8[path] ?? Array(path.utf8)
    }

    /// Why the arguments are refused, or nil: an argument that is not UTF-8 anywhere but among
    /// `imagePaths` (the image arguments of `detect` and `features`), or two different arguments
    /// that read the same once escaped (a literal `\xff` beside the byte 0xFF), so that the text
    /// could not say which one is meant.
    static func problem(imagePaths: [String]) -> String? {
        for (text, argument) in notUTF8 {
            if zip(bytes, self.text).contains(where: { $0.1 == text && $0.0 != argument }) {
                return "the arguments '\(text)' are two different byte strings that read the same once escaped (\\xNN); rename the file whose name is not UTF-8"
            }
            let given = self.text.filter { $0 == text }.count
            let asImages = imagePaths.filter { $0 == text }.count
            if given > asImages {
                return "the argument '\(text)' is not valid UTF-8 (its invalid bytes are shown as \\xNN); Grain opens such a name only as an image of `detect` or `features` (to report it); rename it"
            }
        }
        return nil
    }
}

extension Grain {
    /// Parses the raw arguments (see ``CommandLineArguments``) and runs the command, as
    /// ArgumentParser's own `main()` does with `CommandLine.arguments`.
    static func main() {
        do {
            var command = try parseAsRoot(CommandLineArguments.text)
            let imagePaths = (command as? Detect)?.paths ?? (command as? Features)?.paths ?? []
            if let problem = CommandLineArguments.problem(imagePaths: imagePaths) {
                throw ValidationError(problem)
            }
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
