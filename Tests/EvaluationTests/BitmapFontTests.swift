@testable import Evaluation
import Testing

/// The raster plots' 5×7 font (issue 17: ';' drew as the hollow "unknown" box, so labels such as
/// "reg 1e-3; 32 crops" lost their punctuation).
@Suite struct BitmapFontTests {
    @Test func semicolonHasItsOwnGlyph() {
        let semicolon = BitmapFont.glyph(";")
        #expect(semicolon != BitmapFont.unknown)
        #expect(semicolon != BitmapFont.glyph(":") && semicolon != BitmapFont.glyph(","))
        // The colon's upper dot and the comma's tail.
        #expect(Array(semicolon.prefix(3)) == Array(BitmapFont.glyph(":").prefix(3)))
        #expect(Array(semicolon.suffix(2)) == Array(BitmapFont.glyph(",").suffix(2)))
    }

    @Test func everyGlyphIsFiveBySeven() {
        for (character, rows) in BitmapFont.glyphs {
            #expect(rows.count == BitmapFont.height, "\(character)")
            #expect(rows.allSatisfy { $0 < 32 }, "\(character)")
        }
    }
}
