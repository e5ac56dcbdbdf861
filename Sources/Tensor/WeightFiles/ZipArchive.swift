/// The central directory of a zip archive in a memory-mapped file — enough of the format to
/// read PyTorch checkpoints (`torch.save` writes an uncompressed zip, with ZIP64 records).
///
/// Only the structure is parsed: entries are located through the end-of-central-directory record
/// (or its ZIP64 form) and the central directory, and every offset and size is checked against
/// the file before anything is read. Entry data is returned as a view into the mapping, never
/// copied. Compressed entries are refused with ``WeightFileError/unsupportedCompression(path:entry:method:)``.
struct ZipArchive {
    /// One file stored in the archive.
    struct Entry {
        /// The entry's name, e.g. `"basic/data/0"`.
        let name: String
        /// The compression method (0 = stored, 8 = deflate).
        let method: Int
        /// The CRC-32 of the uncompressed data, from the central directory.
        let checksum: UInt32
        /// The size of the stored data in bytes.
        let compressedSize: Int
        /// The size of the data once uncompressed.
        let uncompressedSize: Int
        /// The offset of the entry's local header in the file.
        let localHeaderOffset: Int
    }

    let file: MappedFile
    /// The entries in central-directory order.
    let entries: [Entry]
    /// Entry index by name.
    private let index: [String: Int]

    private static let endOfCentralDirectorySignature: UInt32 = 0x0605_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let centralHeaderSignature: UInt32 = 0x0201_4B50
    private static let localHeaderSignature: UInt32 = 0x0403_4B50

    /// Parses the central directory of the zip in `file`.
    ///
    /// - Throws: ``WeightFileError/badZip(path:reason:)`` naming what is wrong.
    init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        func bad(_ reason: String) -> WeightFileError { .badZip(path: path, reason: reason) }
        func u16(_ offset: Int) throws -> Int {
            guard let v = file.littleEndian(UInt16.self, at: offset) else { throw bad("record at byte \(offset) runs past the end of the file") }
            return Int(v)
        }
        func u32(_ offset: Int) throws -> UInt32 {
            guard let v = file.littleEndian(UInt32.self, at: offset) else { throw bad("record at byte \(offset) runs past the end of the file") }
            return v
        }
        func u64(_ offset: Int) throws -> Int {
            guard let v = file.littleEndian(UInt64.self, at: offset), v <= UInt64(Int.max) else {
                throw bad("64-bit field at byte \(offset) is out of range")
            }
            return Int(v)
        }

        // The end-of-central-directory record: 22 bytes plus a comment of up to 65535 bytes.
        guard file.count >= 22 else { throw bad("the file is too short (\(file.count) bytes) to hold an end-of-central-directory record") }
        var endOffset = -1
        var candidate = file.count - 22
        let lowest = max(0, file.count - 22 - 0xFFFF)
        while candidate >= lowest {
            if try u32(candidate) == ZipArchive.endOfCentralDirectorySignature, try candidate + 22 + u16(candidate + 20) == file.count {
                endOffset = candidate
                break
            }
            candidate -= 1
        }
        guard endOffset >= 0 else { throw bad("no end-of-central-directory record (not a zip file; legacy non-zip torch.save files are not supported)") }
        guard try u16(endOffset + 4) == 0, try u16(endOffset + 6) == 0 else { throw bad("multi-disk archives are not supported") }
        var entryCount = try u16(endOffset + 10)
        var directorySize = Int(try u32(endOffset + 12))
        var directoryOffset = Int(try u32(endOffset + 16))

        // A ZIP64 locator just before the record points at the ZIP64 end record, whose 64-bit
        // fields replace the saturated 16/32-bit ones.
        if endOffset >= 20, try u32(endOffset - 20) == ZipArchive.zip64LocatorSignature {
            let zip64Offset = try u64(endOffset - 20 + 8)
            guard zip64Offset <= endOffset - 20 - 56, try u32(zip64Offset) == ZipArchive.zip64EndSignature else {
                throw bad("the ZIP64 end-of-central-directory locator points to byte \(zip64Offset), where there is no ZIP64 record")
            }
            entryCount = try u64(zip64Offset + 32)
            directorySize = try u64(zip64Offset + 40)
            directoryOffset = try u64(zip64Offset + 48)
        } else if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw bad("the end-of-central-directory record needs ZIP64 fields, but there is no ZIP64 locator")
        }
        guard directoryOffset <= file.count, directorySize <= file.count - directoryOffset else {
            throw bad("the central directory (\(directorySize) bytes at byte \(directoryOffset)) runs past the end of the file")
        }
        guard entryCount <= directorySize / 46 else {
            throw bad("\(entryCount) entries cannot fit in a \(directorySize)-byte central directory")
        }

        var entries: [Entry] = []
        var index: [String: Int] = [:]
        entries.reserveCapacity(entryCount)
        var cursor = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        for number in 0..<entryCount {
            guard cursor + 46 <= directoryEnd, try u32(cursor) == ZipArchive.centralHeaderSignature else {
                throw bad("bad signature for central directory entry \(number) at byte \(cursor)")
            }
            let flags = try u16(cursor + 8)
            let method = try u16(cursor + 10)
            let checksum = try u32(cursor + 16)
            var compressedSize = Int(try u32(cursor + 20))
            var uncompressedSize = Int(try u32(cursor + 24))
            let nameLength = try u16(cursor + 28)
            let extraLength = try u16(cursor + 30)
            let commentLength = try u16(cursor + 32)
            var localHeaderOffset = Int(try u32(cursor + 42))
            let nameStart = cursor + 46
            let recordEnd = nameStart + nameLength + extraLength + commentLength
            guard recordEnd <= directoryEnd else { throw bad("central directory entry \(number) runs past the end of the directory") }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: file.bytes[nameStart..<(nameStart + nameLength)]), as: UTF8.self)
            guard flags & 1 == 0 else { throw bad("entry '\(name)' is encrypted") }

            // ZIP64 extended information: 64-bit values for the saturated fields, in this order.
            if uncompressedSize == 0xFFFF_FFFF || compressedSize == 0xFFFF_FFFF || localHeaderOffset == 0xFFFF_FFFF {
                var extra = nameStart + nameLength
                let extraEnd = extra + extraLength
                var found = false
                while extra + 4 <= extraEnd {
                    let tag = try u16(extra), size = try u16(extra + 2)
                    guard extra + 4 + size <= extraEnd else { break }
                    if tag == 0x0001 {
                        var field = extra + 4
                        func next() throws -> Int {
                            guard field + 8 <= extra + 4 + size else { throw bad("entry '\(name)' has a short ZIP64 extra field") }
                            defer { field += 8 }
                            return try u64(field)
                        }
                        if uncompressedSize == 0xFFFF_FFFF { uncompressedSize = try next() }
                        if compressedSize == 0xFFFF_FFFF { compressedSize = try next() }
                        if localHeaderOffset == 0xFFFF_FFFF { localHeaderOffset = try next() }
                        found = true
                        break
                    }
                    extra += 4 + size
                }
                guard found else { throw bad("entry '\(name)' needs a ZIP64 extra field, but has none") }
            }
            guard localHeaderOffset < directoryOffset else {
                throw bad("entry '\(name)' has its local header at byte \(localHeaderOffset), past the start of the central directory")
            }
            guard index[name] == nil else { throw bad("entry '\(name)' appears twice") }
            index[name] = entries.count
            entries.append(Entry(name: name, method: method, checksum: checksum, compressedSize: compressedSize,
                                 uncompressedSize: uncompressedSize, localHeaderOffset: localHeaderOffset))
            cursor = recordEnd
        }
        self.entries = entries
        self.index = index
    }

    /// The entry named `name`, or nil.
    func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The stored bytes of `entry`, as a view into the mapped file, after checking its local
    /// header, its compression method and that it lies inside the file (and, when asked, its CRC-32).
    func data(of entry: Entry, verifyingChecksum: Bool = false) throws -> UnsafeRawBufferPointer {
        let path = file.path
        func bad(_ reason: String) -> WeightFileError { .badZip(path: path, reason: reason) }
        let header = entry.localHeaderOffset
        guard let signature = file.littleEndian(UInt32.self, at: header), signature == ZipArchive.localHeaderSignature,
              let nameLength = file.littleEndian(UInt16.self, at: header + 26),
              let extraLength = file.littleEndian(UInt16.self, at: header + 28) else {
            throw bad("bad local header for entry '\(entry.name)' at byte \(header)")
        }
        guard entry.method == 0 else {
            throw WeightFileError.unsupportedCompression(path: path, entry: entry.name, method: entry.method)
        }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw bad("stored entry '\(entry.name)' has compressed size \(entry.compressedSize) ≠ uncompressed size \(entry.uncompressedSize)")
        }
        let start = header + 30 + Int(nameLength) + Int(extraLength)
        guard start <= file.count, entry.compressedSize <= file.count - start else {
            throw bad("entry '\(entry.name)' (\(entry.compressedSize) bytes at byte \(start)) runs past the end of the file")
        }
        let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + entry.compressedSize)])
        if verifyingChecksum, ZipArchive.crc32(bytes) != entry.checksum {
            throw bad("entry '\(entry.name)' fails its CRC-32 check")
        }
        return bytes
    }

    /// The CRC-32 (IEEE 802.3, as zip uses) of `bytes`.
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// The byte-at-a-time CRC-32 lookup table (reflected polynomial 0xEDB88320).
    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}
