import Testing
import Tensor

@Suite(.serialized) struct BufferCacheTests {
    @Test func freedLargeBuffersAreReusedAndBounded() {
        let cache = BufferCache.shared
        let shape = [1 << 19]  // 2 MiB
        var address: UnsafeRawPointer?
        do {
            let t = Tensor.zeros(shape)
            address = t.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
        #expect(cache.cachedBytes >= 1 << 21)
        let again = Tensor(uninitializedShape: shape)
        #expect(again.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } == address, "the freed buffer was not reused")
        // Reused buffers are fully overwritten by the creating op.
        #expect(Tensor.ones(shape).scalars.allSatisfy { $0 == 1 })
        let limit = cache.totalLimitBytes
        cache.totalLimitBytes = 0
        #expect(cache.cachedBytes == 0)
        do { _ = Tensor.zeros(shape) }
        #expect(cache.cachedBytes == 0, "caching continued with a zero limit")
        cache.totalLimitBytes = limit
    }
}
