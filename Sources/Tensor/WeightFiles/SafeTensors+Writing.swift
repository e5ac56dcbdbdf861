#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

extension SafeTensors {
    /// Writes `tensors` as a float32 safetensors file at `url`, as the Python library's
    /// `safetensors.torch.save_file` does.
    ///
    /// The layout matches the Python library's byte for byte: tensors sorted by name (byte-wise
    /// UTF-8 order), compact JSON with `__metadata__` first (its keys sorted too; omitted when
    /// empty), the header padded with spaces to a multiple of 8 bytes, then the little-endian
    /// float32 data in the same order.
    ///
    /// The file is written to a temporary file in the same folder, flushed to disk and renamed
    /// over `url`, so readers see either the old file or the complete new one — never a partial
    /// file, even if writing fails halfway.
    ///
    /// - Parameters:
    ///   - tensors: names and tensors; the order does not matter.
    ///   - metadata: free-form string pairs stored under `__metadata__`.
    ///   - url: the destination; an existing file is replaced.
    /// - Throws: ``WeightFileError/duplicateKey(path:key:)`` for a name given twice,
    ///   ``WeightFileError/writeFailed(path:reason:)`` for a reserved name or a system error.
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        try write(entries: tensors.map { ($0.0, Entry.float32($0.1)) }, metadata: metadata, to: url)
    }

    /// Writes float32 and float64 tensors as one safetensors file at `url`: the same layout and
    /// atomicity guarantee as ``SafeTensors/write(_:metadata:to:)-([String:Tensor],_,_)``, each tensor stored
    /// in its own dtype (`"F32"` or `"F64"`), so double-precision parameters (a Gaussian mixture's)
    /// round-trip exactly. Read them back with ``doubles(named:)``.
    ///
    /// - Throws: ``WeightFileError/duplicateKey(path:key:)`` for a name given twice,
    ///   ``WeightFileError/writeFailed(path:reason:)`` for a reserved name, a float64 entry whose
    ///   value count disagrees with its shape, or a system error.
    public static func write(entries: [(String, Entry)], metadata: [String: String] = [:], to url: URL) throws {
        let path = url.path
        var seen = Set<String>()
        for (name, entry) in entries {
            guard name != "__metadata__" else {
                throw WeightFileError.writeFailed(path: path, reason: "'__metadata__' is reserved and cannot name a tensor")
            }
            guard seen.insert(name).inserted else { throw WeightFileError.duplicateKey(path: path, key: name) }
            if case let .float64(shape, values) = entry, Shape.count(shape) != values.count {
                throw WeightFileError.writeFailed(path: path, reason: "'\(name)': shape \(shape) needs \(Shape.count(shape)) values, got \(values.count)")
            }
        }
        let sorted = entries.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        let header = headerBytes(for: sorted.map { ($0.0, $0.1.shape, $0.1.dtype) }, metadata: metadata)
        do {
            try writeFile(sorted, header: header, to: url)
        } catch let failure as AtomicFile.Failure {
            throw WeightFileError.writeFailed(path: failure.path, reason: failure.reason)
        }
    }

    /// Writes the header and the entries' data atomically (``AtomicFile``).
    private static func writeFile(_ sorted: [(String, Entry)], header: [UInt8], to url: URL) throws {
        let path = url.path
        try AtomicFile.create(at: url) { descriptor in
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try AtomicFile.writeAll(descriptor, $0, path: path) }
            try header.withUnsafeBytes { try AtomicFile.writeAll(descriptor, $0, path: path) }
            for (_, entry) in sorted {
                switch entry {
                case let .float32(tensor):
                    try tensor.withUnsafeBufferPointer { elements in
                        try AtomicFile.writeLittleEndian(descriptor, elements, path: path)
                    }
                case let .float64(_, values):
                    if 1.littleEndian == 1 {
                        try values.withUnsafeBytes { try AtomicFile.writeAll(descriptor, $0, path: path) }
                    } else {
                        let swapped = values.map { $0.bitPattern.littleEndian }
                        try swapped.withUnsafeBytes { try AtomicFile.writeAll(descriptor, $0, path: path) }
                    }
                }
            }
        }
    }

    /// Writes `tensors` as a float32 safetensors file at `url`; the dictionary's order does not
    /// matter, since tensors are written sorted by name. Same layout and atomicity guarantee as
    /// the array overload.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try write(tensors.map { ($0.key, $0.value) }, metadata: metadata, to: url)
    }

    /// The header JSON for tensors in the given order, padded with spaces to a multiple of 8
    /// bytes, as serde_json writes it for the Python library.
    static func headerBytes(for entries: [(String, [Int], WeightDType)], metadata: [String: String]) -> [UInt8] {
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                .map { "\(OrderedJSON.quoted($0.key)):\(OrderedJSON.quoted($0.value))" }
            parts.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, shape, dtype) in entries {
            let end = offset + Shape.count(shape) * dtype.byteSize
            let shapeText = shape.map(String.init).joined(separator: ",")
            parts.append("\(OrderedJSON.quoted(name)):{\"dtype\":\"\(dtype.safetensorsName)\",\"shape\":[\(shapeText)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var bytes = Array("{\(parts.joined(separator: ","))}".utf8)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        return bytes
    }
}

// MARK: - Little-endian float32

extension AtomicFile {
    /// Writes `elements` as little-endian float32: directly on a little-endian machine, through a
    /// byte-swapped staging buffer otherwise.
    static func writeLittleEndian(_ descriptor: Int32, _ elements: UnsafeBufferPointer<Float>, path: String) throws {
        if 1.littleEndian == 1 {
            try writeAll(descriptor, UnsafeRawBufferPointer(elements), path: path)
            return
        }
        let chunk = 1 << 16
        var staging = [UInt32](repeating: 0, count: chunk)
        var start = 0
        while start < elements.count {
            let end = min(start + chunk, elements.count)
            for i in start..<end { staging[i - start] = elements[i].bitPattern.littleEndian }
            try staging.withUnsafeBytes { try writeAll(descriptor, UnsafeRawBufferPointer(rebasing: $0[0..<((end - start) * 4)]), path: path) }
            start = end
        }
    }
}
