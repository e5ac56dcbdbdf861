import Synchronization

/// A cache of freed large tensor buffers, reused by later tensors of the same byte size.
///
/// A fresh multi-megabyte allocation is returned to the system when freed, so the next one of
/// the same size is faulted in again page by page: on the development machine a new 64 MB output
/// costs 25–40 ms in page faults before the first useful write (Documentation/Performance.md),
/// more than the arithmetic of most element-wise ops. Networks allocate the same shapes over and
/// over, so keeping a few freed buffers per size removes that cost.
///
/// Only buffers of at least ``minimumBytes`` are cached, at most ``perSizeLimit`` per exact size
/// and ``totalLimitBytes`` in all; beyond that, buffers are freed as usual. Thread-safe.
package final class BufferCache: Sendable {
    /// The process-wide cache used by ``TensorStorage``.
    package static let shared = BufferCache()

    /// Buffers smaller than this are never cached (malloc serves them from its own free lists).
    package let minimumBytes = 1 << 20
    /// The most buffers kept for one size.
    package let perSizeLimit = 4

    private struct State: ~Copyable {
        var buffers: [Int: [UInt]] = [:]
        var totalBytes = 0
        var limitBytes = 1 << 30
    }

    private let state = Mutex(State())

    /// The most bytes kept in all (1 GiB by default); setting it lower frees the excess. 0 turns
    /// caching off.
    package var totalLimitBytes: Int {
        get { state.withLock { $0.limitBytes } }
        set {
            let evicted = state.withLock { state -> [UInt] in
                state.limitBytes = max(0, newValue)
                var freed: [UInt] = []
                while state.totalBytes > state.limitBytes, let size = state.buffers.keys.first {
                    let address = state.buffers[size]!.removeLast()
                    if state.buffers[size]!.isEmpty { state.buffers[size] = nil }
                    state.totalBytes -= size
                    freed.append(address)
                }
                return freed
            }
            for address in evicted { UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
        }
    }

    /// The bytes currently held.
    package var cachedBytes: Int { state.withLock { $0.totalBytes } }

    /// A cached buffer of exactly `byteCount` bytes, if one is free.
    func take(byteCount: Int) -> UnsafeMutableRawPointer? {
        guard byteCount >= minimumBytes else { return nil }
        let address = state.withLock { state -> UInt? in
            guard var list = state.buffers[byteCount], let address = list.popLast() else { return nil }
            state.buffers[byteCount] = list.isEmpty ? nil : list
            state.totalBytes -= byteCount
            return address
        }
        return address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }

    /// Keeps `pointer` (allocated with 64-byte alignment and `byteCount` bytes) for reuse;
    /// returns `false` when the caller must free it.
    func give(_ pointer: UnsafeMutableRawPointer, byteCount: Int) -> Bool {
        guard byteCount >= minimumBytes else { return false }
        let address = UInt(bitPattern: pointer)
        return state.withLock { state in
            guard state.totalBytes + byteCount <= state.limitBytes, state.buffers[byteCount, default: []].count < perSizeLimit else {
                return false
            }
            state.buffers[byteCount, default: []].append(address)
            state.totalBytes += byteCount
            return true
        }
    }
}
