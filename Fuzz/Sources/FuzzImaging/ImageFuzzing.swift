import Foundation
import Imaging

/// The body of the JPEG and PNG targets: reads the header, decodes with the default pixel limit,
/// and checks the decoded buffer against the header. A thrown ImageError must name the input.
public func fuzzImageDecoding(_ data: Data, name: String) {
    _ = try? Image.header(of: data, name: name)
    do {
        let image = try Image(data: data, name: name)
        precondition(image.pixels.count == image.width * image.height * 3, "decoded buffer does not match the header")
    } catch {
        precondition(error.description.hasPrefix(name + ": "), "message does not name the file: \(error)")
    }
}
