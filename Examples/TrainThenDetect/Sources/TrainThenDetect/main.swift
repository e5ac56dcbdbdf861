// Usage: swift run -c release train-then-detect [--photos DIR] [--weights basic.safetensors] [--quick] …
// (`--help` lists every option.) Results table on standard output, progress on standard error.
import Foundation

do {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    try TrainThenDetect(options: options).run()
} catch let error as UsageError {
    if let message = error.message { status("error: \(message)\n") }
    status(Options.usage)
    exit(error.message == nil ? 0 : 2)
} catch {
    status("error: \(error)")
    exit(1)
}
