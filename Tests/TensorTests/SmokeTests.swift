import Testing
import Tensor
import GrainTestSupport

@Test func additionBroadcasts() {
    let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let b = Tensor([10, 20, 30])
    #expect((a + b).scalars == [11, 22, 33, 14, 25, 36])
}
