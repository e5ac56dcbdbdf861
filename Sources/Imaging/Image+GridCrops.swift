import Foundation

extension Image {
    /// Where `count` square crops of side `cropSize` lie in a `width × height` image, at fixed
    /// positions that depend only on the four numbers: one crop is the centre crop
    /// (``centerCropOrigin(imageWidth:imageHeight:cropWidth:cropHeight:)``); more fill a grid of
    /// columns × rows = `count` whose shape is closest to the image's aspect ratio (the divisor
    /// pair minimising `|log(columns² / count) − log(width / height)|`), spaced evenly from the
    /// top-left to the bottom-right corner, in row-major order. Crops overlap when the image is
    /// too small to hold them apart; a prime count is one row (or column), centred on the other
    /// axis.
    ///
    /// The one grid behind the pretext dataset's several crops per photo and a detector's
    /// multi-crop scoring.
    ///
    /// - Returns: each crop's left (`x`) and top (`y`) edge, `count` of them.
    /// - Precondition: `count ≥ 1` and `1 ≤ cropSize ≤ min(width, height)` (callers check the
    ///   image is large enough first).
    public static func gridCropOrigins(width: Int, height: Int, cropSize: Int, count: Int) -> [(x: Int, y: Int)] {
        precondition(count >= 1 && cropSize >= 1 && cropSize <= width && cropSize <= height,
                     "Image.gridCropOrigins: \(count) crops of \(cropSize) in \(width)×\(height)")
        guard count > 1 else {
            return [centerCropOrigin(imageWidth: width, imageHeight: height, cropWidth: cropSize, cropHeight: cropSize)]
        }
        let aspect = log(Double(width) / Double(height))
        func misfit(_ columns: Int) -> Double { abs(log(Double(columns * columns) / Double(count)) - aspect) }
        let columns = (1...count).filter { count % $0 == 0 }.min { misfit($0) < misfit($1) }!
        let rows = count / columns
        func position(_ index: Int, of cells: Int, span: Int) -> Int { cells == 1 ? span / 2 : span * index / (cells - 1) }
        return (0..<count).map { crop in
            (x: position(crop % columns, of: columns, span: width - cropSize),
             y: position(crop / columns, of: rows, span: height - cropSize))
        }
    }
}
