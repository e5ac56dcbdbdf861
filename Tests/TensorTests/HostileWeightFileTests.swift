#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Tensor

/// Hostile weight files (issue 17): each test builds a small crafted file and expects a typed
/// error naming the file. On the code before the fix, the nesting tests crashed the process
/// (stack overflow while freeing), the stride-0 tests trapped on `Int` overflow or allocated
/// gigabytes, the "billion laughs" test materialised 2²² values without complaint, the FIFO test
/// blocked in `open`, and the non-finite and foreign-content tests loaded without an error.
@Suite("Hostile weight files")
struct HostileWeightFileTests {
    /// Writes `bytes` to `name` in `folder`.
    private func write(_ bytes: [UInt8], _ name: String, in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// A checkpoint whose pickle is `body` (which must leave one object on the stack) then STOP.
    private func checkpoint(_ body: (inout PickleWriter) -> Void, storages: [(String, [UInt8])] = []) -> [UInt8] {
        var p = PickleWriter()
        p.proto(2)
        body(&p)
        p.stop()
        return makeCheckpoint(pickle: p.bytes, storages: storages)
    }

    private func expectInvalidPickle(_ url: URL, mentioning phrase: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectWeightError(path: url.path, sourceLocation: sourceLocation, {
            if case .invalidPickle(_, let reason) = $0 { return reason.contains(phrase) }
            return false
        }) { _ = try PyTorchCheckpoint(contentsOf: url) }
    }

    // MARK: Nesting and expansion

    @Test func deeplyNestedTuplesAndListsFailWithoutOverflowingTheStack() throws {
        let depth = 200_000
        try withTemporaryFolder { folder in
            // ((((…),),),) built by TUPLE1 200,000 times.
            let tuples = try write(checkpoint { p in
                p.emptyTuple()
                for _ in 0..<depth { p.op(0x85) }
            }, "tuples.pth", in: folder)
            expectInvalidPickle(tuples, mentioning: "nested more than \(PickleMachine.maximumNesting) deep")

            // [[[…]]] built by MARK × n, EMPTY_LIST, LIST × n.
            let lists = try write(checkpoint { p in
                for _ in 0..<depth { p.mark() }
                p.op(0x5D)
                for _ in 0..<depth { p.op(0x6C) }
            }, "lists.pth", in: folder)
            expectInvalidPickle(lists, mentioning: "nested")

            // A chain of lists linked through the memo after they were made (APPEND into a
            // fetched list), so no depth is known when each list is built; inside a dict, as
            // a state dict's value would be.
            let linked = try write(checkpoint { p in
                let count = 50_000
                for i in 0..<count {
                    p.op(0x5D); p.op(0x72); p.bytes += littleEndianBytes(UInt32(i)); p.op(0x30)  // EMPTY_LIST, LONG_BINPUT i, POP
                }
                for i in 0..<(count - 1) {
                    p.op(0x6A); p.bytes += littleEndianBytes(UInt32(i))       // LONG_BINGET i
                    p.op(0x6A); p.bytes += littleEndianBytes(UInt32(i + 1))   // LONG_BINGET i+1
                    p.op(0x61); p.op(0x30)                                    // APPEND, POP
                }
                p.emptyDict(); p.string("chain"); p.op(0x6A); p.bytes += littleEndianBytes(UInt32(0)); p.op(0x73)  // SETITEM
            }, "linked.pth", in: folder)
            expectInvalidPickle(linked, mentioning: "nested")

            // A failure in the middle of the stream (an unsupported opcode after a deep chain)
            // must free the half-built chain without recursion too.
            let interrupted = try write(checkpoint { p in
                p.emptyTuple()
                for _ in 0..<depth { p.op(0x85) }
                p.op(0xFF)
            }, "interrupted.pth", in: folder)
            expectWeightError(path: interrupted.path, {
                if case .unsupportedPickleOpcode = $0 { return true } else { return false }
            }) { _ = try PyTorchCheckpoint(contentsOf: interrupted) }
        }
    }

    @Test func billionLaughsThroughTheMemoIsRefused() throws {
        // t0 = (); t(i+1) = (t(i), t(i)): 22 doublings are 2^22 values from ~180 bytes.
        try withTemporaryFolder { folder in
            let url = try write(checkpoint { p in
                p.emptyTuple(); p.put(0)
                for i in 0..<22 {
                    p.op(0x30)  // POP
                    p.get(UInt8(i)); p.get(UInt8(i)); p.op(0x86); p.put(UInt8(i + 1))  // TUPLE2
                }
            }, "laughs.pth", in: folder)
            #expect(try Data(contentsOf: url).count < 1024)
            expectInvalidPickle(url, mentioning: "expands to more than \(PickleMachine.maximumValueCount) values")
        }
    }

    @Test func stackAndMemoGrowthAreBounded() {
        // The bounds exist and are far above what torch.save writes (a few entries per tensor).
        #expect(PickleMachine.maximumStackCount >= 1 << 20)
        #expect(PickleMachine.maximumMemoCount >= 1 << 20)
        #expect(PickleMachine.maximumValueCount >= 1 << 20)
    }

    // MARK: Declared sizes

    @Test func zeroStridesWithHugeSizesAreRefusedBeforeAllocating() throws {
        try withTemporaryFolder { folder in
            func file(_ name: String, shape: [Int], strides: [Int]) throws -> URL {
                try write(checkpoint({ p in
                    p.emptyDict(); p.string("w")
                    p.tensor(key: "0", count: 1, shape: shape, strides: strides)
                    p.op(0x73)
                }, storages: [("0", float32Bytes([7]))]), name, in: folder)
            }
            func expectInvalidTensor(_ url: URL, _ phrase: String, sourceLocation: SourceLocation = #_sourceLocation) {
                expectWeightError(path: url.path, sourceLocation: sourceLocation, {
                    if case .invalidTensor(_, "w", let reason) = $0 { return reason.contains(phrase) }
                    return false
                }) {
                    let checkpoint = try PyTorchCheckpoint(contentsOf: url)
                    _ = try checkpoint.tensor(named: "w")
                }
            }
            // 2^28 elements of one stored float: a ~300-byte file that read as 1 GiB.
            let gibibyte = try file("gib.pth", shape: [1 << 28], strides: [0])
            #expect(try Data(contentsOf: gibibyte).count < 1024)
            expectInvalidTensor(gibibyte, "repeated by zero strides")
            // An element count that overflows Int (2^31 · 2^31 · 4).
            expectInvalidTensor(try file("overflow.pth", shape: [Int(Int32.max), Int(Int32.max), 4], strides: [0, 0, 0]),
                                "more elements than can be counted")
            // A legitimate small broadcast still reads: [4, 1] of one value.
            let small = try file("small.pth", shape: [4, 1], strides: [0, 0])
            #expect(try PyTorchCheckpoint(contentsOf: small).tensor(named: "w").scalars == [7, 7, 7, 7])
        }
    }

    // MARK: Non-finite values

    @Test func nonFiniteWeightsAreRefusedWithTheFileAndKey() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("nan.safetensors")
            var values = [Float](repeating: 0.5, count: 37)
            values[20] = .nan
            values[33] = -.infinity
            try SafeTensors.write(["good": Tensor(shape: [2], scalars: [1, 2]), "bad": Tensor(shape: [37], scalars: values)], to: url)
            let file = try SafeTensors(contentsOf: url)
            #expect(try file.tensor(named: "good").scalars == [1, 2])
            expectWeightError(.nonFiniteValues(path: url.path, key: "bad", count: 2, firstIndex: 20)) {
                _ = try file.tensor(named: "bad")
            }
            expectWeightError(.nonFiniteValues(path: url.path, key: "bad", count: 2, firstIndex: 20)) {
                _ = try openWeightFile(at: url).tensors()
            }
            // The opt-out returns the values as stored.
            let raw = try SafeTensors(contentsOf: url, acceptingNonFiniteValues: true).tensor(named: "bad").scalars
            #expect(raw[20].isNaN && raw[33] == -.infinity)

            // Float64 (detector files): doubles(named:) checks too.
            let doubles = folder.appendingPathComponent("f64.safetensors")
            try SafeTensors.write(entries: [("d", .float64(shape: [3], values: [1, .infinity, 3]))], to: doubles)
            expectWeightError(.nonFiniteValues(path: doubles.path, key: "d", count: 1, firstIndex: 1)) {
                _ = try SafeTensors(contentsOf: doubles).doubles(named: "d")
            }

            // .pth: a float16 infinity (0x7C00) in a strided view and in a contiguous one.
            let pth = try write(checkpoint({ p in
                p.emptyDict(); p.mark()
                p.string("h"); p.tensor(storageType: "HalfStorage", key: "0", count: 3, shape: [3], strides: [1])
                p.string("t"); p.tensor(storageType: "HalfStorage", key: "0", count: 3, shape: [2], strides: [2])
                p.setItems()
            }, storages: [("0", [0x00, 0x3C, 0x00, 0x00, 0x00, 0x7C])]), "inf.pth", in: folder)
            let checkpoint = try PyTorchCheckpoint(contentsOf: pth)
            expectWeightError(.nonFiniteValues(path: pth.path, key: "h", count: 1, firstIndex: 2)) { _ = try checkpoint.tensor(named: "h") }
            expectWeightError(.nonFiniteValues(path: pth.path, key: "t", count: 1, firstIndex: 1)) { _ = try checkpoint.tensor(named: "t") }
        }
    }

    @Test func theFinitenessScanCountsEveryLaneAndTheTail() {
        // 16-lane blocks plus a tail: every position is found.
        for count in [1, 15, 16, 17, 64, 100] {
            for position in 0..<count {
                var values = [Float](repeating: 1, count: count)
                values[position] = position % 2 == 0 ? .nan : .infinity
                #expect(values.withUnsafeBufferPointer { Finiteness.nonFiniteCount($0) } == 1, "count \(count), position \(position)")
            }
        }
        let finite: [Float] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 0, -0]
        #expect(finite.withUnsafeBufferPointer { Finiteness.nonFiniteCount($0) } == 0)
    }

    // MARK: Files that are not regular files, or not weights

    @Test func fifosAndDirectoriesAreRefusedWithoutBlocking() throws {
        try withTemporaryFolder { folder in
            let fifo = folder.appendingPathComponent("weights.safetensors")
            #expect(mkfifo(fifo.path, 0o600) == 0)
            // Read on another thread, so that a reader that blocks in open() fails the test
            // instead of hanging it: after 10 s a writer is opened to release it.
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var outcome: (any Error)?
            Thread.detachNewThread {
                do { _ = try openWeightFile(at: fifo) } catch { outcome = error }
                done.signal()
            }
            if done.wait(timeout: .now() + 10) == .timedOut {
                Issue.record("reading a FIFO blocked for 10 s")
                let writer = open(fifo.path, O_WRONLY | O_NONBLOCK)
                if writer >= 0 { close(writer) }
                done.wait()
            }
            #expect(outcome as? WeightFileError == .unreadable(path: fifo.path, reason: "it is a FIFO (named pipe), not a regular file"))
            expectWeightError(.unreadable(path: folder.path, reason: "it is a directory, not a regular file")) {
                _ = try SafeTensors(contentsOf: folder)
            }
            expectWeightError(.unreadable(path: "/dev/null", reason: "it is a character device, not a regular file")) {
                _ = try PyTorchCheckpoint(contentsOf: URL(fileURLWithPath: "/dev/null"))
            }
        }
    }

    @Test func foreignFilesAreNamedForWhatTheyAre() throws {
        try withTemporaryFolder { folder in
            let cases: [([UInt8], String)] = [
                ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 40), "a PNG image"),
                ([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0, count: 40), "a JPEG image"),
                ([0x80, 0x02, 0x7D, 0x71, 0x00, 0x2E] + [UInt8](repeating: 0, count: 10), "a bare pickle"),
                (Array("<!DOCTYPE html><html>Not found</html>".utf8), "an HTML or XML text file"),
                (Array("version https://git-lfs.github.com/spec/v1\noid sha256:00\n".utf8), "a Git LFS pointer"),
            ]
            for (index, (bytes, kind)) in cases.enumerated() {
                let url = try write(bytes, "file\(index).safetensors", in: folder)
                expectWeightError(path: url.path, {
                    if case .notAWeightFile(_, let found) = $0 { return found.hasPrefix(kind) } else { return false }
                }) { _ = try openWeightFile(at: url) }
            }
            // A real safetensors problem is still reported as such (not sniffed away).
            let short = try write([0x10, 0, 0, 0, 0, 0, 0, 0, 0x7B], "short.safetensors", in: folder)
            expectWeightError(.headerPastEnd(path: short.path, headerLength: 16, fileSize: 9)) { _ = try SafeTensors(contentsOf: short) }
        }
    }
}
