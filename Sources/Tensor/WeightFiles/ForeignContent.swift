/// Recognises, from its first bytes, a file that is not a weights file, so that a reader can
/// say "a PNG image, not a weights file" instead of reporting a nonsensical safetensors header
/// length (the first 8 bytes of a PNG read as a length are 0x0A1A0A0D474E5089).
///
/// Consulted only once the safetensors reading has already failed, so it never rejects a valid
/// file.
enum ForeignContent {
    /// Signatures and what they are, checked in order.
    private static let signatures: [(bytes: [UInt8], kind: String)] = [
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG image"),
        ([0xFF, 0xD8, 0xFF], "a JPEG image"),
        (Array("GIF8".utf8), "a GIF image"),
        (Array("RIFF".utf8), "a RIFF file (WebP image, WAV or AVI)"),
        (Array("II*\u{0}".utf8), "a TIFF image"),
        (Array("MM\u{0}*".utf8), "a TIFF image"),
        (Array("BM".utf8), "a BMP image"),
        (Array("PK\u{3}\u{4}".utf8), "a zip archive (a torch.save checkpoint is opened with PyTorchCheckpoint or openWeightFile)"),
        ([0x1F, 0x8B], "a gzip-compressed file"),
        (Array("BZh".utf8), "a bzip2-compressed file"),
        ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], "an xz-compressed file"),
        ([0x28, 0xB5, 0x2F, 0xFD], "a zstd-compressed file"),
        (Array("%PDF".utf8), "a PDF document"),
        ([0x7F, 0x45, 0x4C, 0x46], "an ELF executable"),
        (Array("\u{93}NUMPY".utf8), "a NumPy .npy array"),
        (Array("\u{89}HDF".utf8), "an HDF5 file (Keras .h5 weights are not supported)"),
        (Array("version https://git-lfs".utf8), "a Git LFS pointer (the weights were never downloaded: run `git lfs pull`)"),
    ]

    /// What the bytes look like, or nil when they match nothing known.
    static func kind(of bytes: UnsafeRawBufferPointer) -> String? {
        for (signature, kind) in signatures where bytes.starts(with: signature) { return kind }
        // Pickle protocol 2–5 at the start: torch.save's legacy (pre-1.6) format or a bare pickle.
        if bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) {
            return "a bare pickle (the legacy torch.save format of PyTorch < 1.6, not supported: re-save with a current PyTorch)"
        }
        // Text: JSON, HTML or anything printable.
        let head = bytes.prefix(512)
        guard !head.isEmpty, head.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20...0x7E).contains($0) || $0 >= 0x80 }) else {
            return nil
        }
        let text = String(decoding: head, as: UTF8.self).drop(while: \.isWhitespace)
        if text.hasPrefix("{") || text.hasPrefix("[") { return "a JSON text file" }
        if text.hasPrefix("<") { return "an HTML or XML text file (a download error page?)" }
        return "a text file"
    }
}
