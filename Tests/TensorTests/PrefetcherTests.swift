import Foundation
import Tensor
import Testing

/// The order-preserving producer–consumer pipeline behind batch detection, fitting and training.
@Suite struct PrefetcherTests {
    @Test func prefetcherPreservesOrderUnderUnevenWork() {
        var received: [Int] = []
        Prefetcher.run(count: 50, lookahead: 3, prepare: { index in
            if index % 7 == 0 { usleep(2_000) }
            return index * index
        }, consume: { index, value in
            #expect(value == index * index)
            received.append(index)
        })
        #expect(received == Array(0..<50))
        Prefetcher.run(count: 0, lookahead: 1, prepare: { $0 }, consume: { _, _ in Issue.record("nothing to consume") })
    }
}
