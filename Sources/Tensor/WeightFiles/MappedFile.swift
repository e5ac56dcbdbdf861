#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A read-only, memory-mapped file: the bytes are paged in by the kernel as they are touched, so
/// multi-gigabyte checkpoints are never copied into Swift arrays.
final class MappedFile: @unchecked Sendable {
    /// The path, for error messages.
    let path: String
    /// The mapped bytes (empty for an empty file).
    let bytes: UnsafeRawBufferPointer

    /// Maps the file at `url` read-only.
    ///
    /// - Throws: ``WeightFileError/unreadable(path:reason:)`` when it cannot be opened or mapped,
    ///   or is not a regular file (a FIFO, a directory, a device: refused before any open that
    ///   could block, by ``RegularFile``).
    init(url: URL) throws {
        path = url.path
        let descriptor: Int32, size: Int
        do {
            (descriptor, size) = try RegularFile.open(path)
        } catch {
            throw WeightFileError.unreadable(path: path, reason: error.reason)
        }
        defer { close(descriptor) }
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw WeightFileError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// Drops this process's resident copy of the whole pages inside `range` (`madvise`
    /// `MADV_DONTNEED`; the mapping is private and read-only, so touching them again re-reads
    /// the file). Loading calls it after converting a tensor, so a checkpoint read tensor by
    /// tensor does not stay resident beside the converted copies.
    func releasePages(in range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page, end = range.upperBound / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// The file size in bytes.
    var count: Int { bytes.count }

    /// The byte at `offset`, which the caller has bounds-checked.
    @inline(__always) subscript(offset: Int) -> UInt8 { bytes[offset] }

    /// A little-endian unsigned integer of `T`'s width at `offset`, or nil when it would run past the end.
    func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size, let base = bytes.baseAddress else { return nil }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
