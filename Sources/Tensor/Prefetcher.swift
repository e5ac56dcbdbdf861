import Foundation

/// Runs a preparation step for items `0..<count` on one background thread, ahead of a consumer
/// on the calling thread that receives them in order: a bounded, order-preserving producer–
/// consumer pipeline (decode on one core while the extractor computes).
///
/// ```swift
/// Prefetcher.run(count: files.count, lookahead: 2, prepare: { i in try? Image(contentsOf: files[i]) },
///                consume: { i, image in /* extract features of image */ })
/// ```
package enum Prefetcher {
    /// Shared state between the producer thread and the consumer, guarded by `condition`.
    private final class State<Element: Sendable>: @unchecked Sendable {
        let condition = NSCondition()
        var ready: [Int: Element] = [:]
        var cancelled = false
    }

    /// Calls `prepare(i)` for every `i` in order on a new thread, keeping at most `lookahead`
    /// prepared elements waiting, and `consume(i, element)` for each on the calling thread in
    /// order. If `consume` throws, the producer is cancelled and joined before the error
    /// propagates; the function never returns while the producer still runs.
    ///
    /// - Precondition: `lookahead ≥ 1`.
    package static func run<Element: Sendable>(count: Int, lookahead: Int,
                                       prepare: @escaping @Sendable (Int) -> Element,
                                       consume: (Int, Element) throws -> Void) rethrows {
        precondition(lookahead >= 1, "Prefetcher: lookahead must be ≥ 1, got \(lookahead)")
        guard count > 0 else { return }
        let state = State<Element>()
        let finished = DispatchSemaphore(value: 0)
        let producer = Thread {
            defer { finished.signal() }
            for index in 0..<count {
                state.condition.lock()
                while !state.cancelled && state.ready.count >= lookahead { state.condition.wait() }
                let cancelled = state.cancelled
                state.condition.unlock()
                if cancelled { return }
                let element = prepare(index)
                state.condition.lock()
                state.ready[index] = element
                state.condition.broadcast()
                state.condition.unlock()
            }
        }
        producer.stackSize = 16 << 20
        producer.start()
        defer {
            state.condition.lock()
            state.cancelled = true
            state.condition.broadcast()
            state.condition.unlock()
            finished.wait()
        }
        for index in 0..<count {
            state.condition.lock()
            while state.ready[index] == nil { state.condition.wait() }
            let element = state.ready.removeValue(forKey: index)!
            state.condition.broadcast()
            state.condition.unlock()
            try consume(index, element)
        }
    }
}
