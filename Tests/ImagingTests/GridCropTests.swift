import Testing
@testable import Imaging

@Suite("Grid crops")
struct GridCropTests {
    /// The origins as comparable pairs.
    static func origins(_ width: Int, _ height: Int, _ size: Int, _ count: Int) -> [[Int]] {
        Image.gridCropOrigins(width: width, height: height, cropSize: size, count: count).map { [$0.x, $0.y] }
    }

    @Test("crops spread over the image on a grid shaped like it, inside its bounds")
    func cropOriginsSpreadOverTheImageInsideItsBounds() {
        #expect(Self.origins(41, 30, 16, 1) == [[12, 7]])
        #expect(Self.origins(100, 100, 20, 4) == [[0, 0], [80, 0], [0, 80], [80, 80]])
        // 16:10 with 16 crops: 4 × 4 is the closest grid shape (8 × 2 is too wide).
        let wide = Self.origins(2560, 1600, 64, 16)
        #expect(wide.count == 16 && Set(wide).count == 16)
        #expect(Set(wide.map { $0[0] }) == [0, 832, 1664, 2496] && Set(wide.map { $0[1] }) == [0, 512, 1024, 1536])
        #expect(wide.first == [0, 0] && wide.last == [2496, 1536])
        // With 8 crops the wide image gets 4 columns and 2 rows, a tall one 2 and 4.
        #expect(Set(Self.origins(2560, 1600, 64, 8).map { $0[0] }).count == 4)
        #expect(Set(Self.origins(1600, 2560, 64, 8).map { $0[1] }).count == 4)
        // A prime count is one row (or column), centred on the other axis.
        #expect(Self.origins(70, 50, 10, 7) == (0..<7).map { [10 * $0, 20] })
        // A crop as large as the image sits at the origin however many are asked for.
        #expect(Self.origins(32, 32, 32, 4) == Array(repeating: [0, 0], count: 4))
    }
}
