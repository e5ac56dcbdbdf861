import Testing
import Tensor

/// Bad input stops with a message naming the op and the shapes, in every build configuration
/// (Grain's `precondition` keeps its message under -O). Each case runs in a child process.
@Suite struct BadInputTests {
    func expectMessage(_ result: ExitTest.Result?, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let message = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        for fragment in fragments {
            #expect(message.contains(fragment), "message lacks '\(fragment)': \(message)", sourceLocation: sourceLocation)
        }
    }

    @Test func shapeMismatches() async {
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])) }, ["matmul", "[2, 3]", "[4, 5]"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([2, 3]) + Tensor.zeros([4]) }, ["add", "[2, 3]", "[4]"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([2, 3]).reshaped([4, 2]) }, ["reshaped", "[2, 3]", "[4, 2]"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.conv2d(Tensor.zeros([1, 3, 8, 8]), weight: Tensor.zeros([4, 2, 3, 3])) }, ["conv2d"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.concatenate([Tensor.zeros([2, 3]), Tensor.zeros([2, 4])], axis: 0) }, ["concatenate", "[2, 3]", "[2, 4]"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.linear(Tensor.zeros([2, 5]), weight: Tensor.zeros([3, 4])) }, ["linear", "[2, 5]"])
    }

    @Test func invalidAxes() async {
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([2, 3]).sum(alongAxes: [3]) }, ["sum", "axis 3", "rank 2"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([2, 3]).permuted([0, 0]) }, ["permuted"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([2, 3]).softmax(alongAxis: 2) }, ["softmax"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([2, 3]).indexSelected(axis: 1, indices: [5]) }, ["indexSelected", "index 5"])
    }

    @Test func emptyTensors() async {
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([0, 3]).max() }, ["max", "empty"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([0]).mean() }, ["mean", "empty"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([2, 0]).argmax(alongAxis: 1) }, ["argmax"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = Tensor.zeros([0]).item }, ["item", "0 elements"])
        // Empty tensors are valid where the result is well defined.
        #expect(Tensor.zeros([0, 3]).sum(alongAxes: [0]).scalars == [0, 0, 0])
        #expect(Tensor.matmul(Tensor.zeros([2, 0]), Tensor.zeros([0, 3])).scalars == [Float](repeating: 0, count: 6))
    }
}
