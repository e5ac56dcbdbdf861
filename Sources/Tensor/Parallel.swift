import Dispatch

/// A raw pointer that may cross into `concurrentPerform` closures. The caller guarantees that
/// the chunks touch disjoint memory.
@usableFromInline
struct SendablePointer<Pointee>: @unchecked Sendable {
    @usableFromInline let pointer: UnsafeMutablePointer<Pointee>
    @inlinable init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}

/// Splitting element-wise work across the machine's cores.
@usableFromInline package enum Parallel {
    /// The number of worker threads Grain's own kernels use; BLAS runs single-threaded inside
    /// Grain's split of large products over these workers (``BLASThreading``).
    @usableFromInline package static let threadCount: Int = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))

    /// Calls `body(start, end)` over disjoint ranges covering `0..<count`, in parallel when the
    /// work is large enough to pay for the dispatch (`count >= grain`).
    @inlinable
    package static func forRanges(_ count: Int, minimumChunk grain: Int = 1 << 15,
                                 _ body: (Int, Int) -> Void) {
        let chunks = min(threadCount, count / max(grain, 1))
        if chunks <= 1 {
            body(0, count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let start = count * c / chunks
                let end = count * (c + 1) / chunks
                box.value(start, end)
            }
        }
    }
}

/// Moves a non-`Sendable` value into a `@Sendable` closure; the caller guarantees safety.
@usableFromInline
struct UncheckedBox<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @inlinable init(_ value: Value) { self.value = value }
}

import Foundation
