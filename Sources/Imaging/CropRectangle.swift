/// A rectangle of pixels, origin top-left: a crop of an image, or a region scored on its own.
/// Evaluation's test crops and OneClass's evidence windows both use it.
public struct CropRectangle: Codable, Equatable, Hashable, Sendable {
    /// Left column (may be negative only where a crop extends into padding).
    public var x: Int
    /// Top row.
    public var y: Int
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// Creates a rectangle.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// `x,y,WxH`, appended to a file name to name a sample (`photo.jpg#64,128,256x256`).
    public var label: String { "\(x),\(y),\(width)x\(height)" }

    /// Whether pixel `(x, y)` lies inside.
    public func contains(x: Int, y: Int) -> Bool {
        x >= self.x && x < self.x + width && y >= self.y && y < self.y + height
    }
}
