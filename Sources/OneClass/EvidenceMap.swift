import Imaging

/// The log-likelihood of each region of one image under a ``Detector``, from
/// ``Detector/evidence(_:configuration:path:progress:)``: the patch grid's geometry, one entry per
/// window, and the whole image's own score. Codable (`grain explain --json` prints it).
///
/// **What it shows.** A window's score is how typical that region's low-level statistics are of
/// the real photos the detector's mixtures were fitted on. It is *not* a segmentation and does
/// not localise generated content: windows overlap, each region is scored out of its context (the
/// transformer sees only the window's tokens), and a low region in a real photo is usually just
/// texture the fit photos lacked (sky, text, flat colour, heavy blur).
public struct EvidenceMap: Codable, Equatable, Sendable {
    /// A rectangle of pixels, origin top-left (Imaging's `CropRectangle`); it may extend past the
    /// image only in the authors-compatible crop mode, where the grid includes black padding.
    public typealias Rectangle = CropRectangle

    /// One window: where it is and how its tokens scored.
    public struct Window: Codable, Equatable, Sendable {
        /// The window's top patch row in the grid.
        public var row: Int
        /// The window's left patch column in the grid.
        public var column: Int
        /// The window in image pixels.
        public var rectangle: Rectangle
        /// Each member's log-likelihood of the window's feature, in member order.
        public var logLikelihoods: [Double]
        /// The joint margin: the minimum over members of log-likelihood − threshold (≥ 0: every
        /// member would call this region real).
        public var margin: Double

        /// Creates a window record.
        public init(row: Int, column: Int, rectangle: Rectangle, logLikelihoods: [Double], margin: Double) {
            self.row = row
            self.column = column
            self.rectangle = rectangle
            self.logLikelihoods = logLikelihoods
            self.margin = margin
        }
    }

    /// The image's width in pixels.
    public var imageWidth: Int
    /// The image's height in pixels.
    public var imageHeight: Int
    /// How the detector crops images to whole patches.
    public var cropMode: CropMode
    /// The patch grid in image pixels: `gridColumns · patchSize` wide, `gridRows · patchSize`
    /// high, at the crop's offset (negative where the authors-compatible mode pads).
    public var grid: Rectangle
    /// Patch rows of the grid.
    public var gridRows: Int
    /// Patch columns of the grid.
    public var gridColumns: Int
    /// The side of a patch in pixels (16).
    public var patchSize: Int
    /// The windows' settings.
    public var configuration: EvidenceConfiguration
    /// The members' thresholds, in member order.
    public var thresholds: [Double]
    /// The detector's verdict on the whole image (as `grain detect` gives it).
    public var image: Detector.Verdict
    /// The joint margin of the whole image: minimum over members of log-likelihood − threshold.
    public var imageMargin: Double
    /// The windows, row by row (window rows top to bottom, each left to right).
    public var windows: [Window]

    /// Creates a map.
    public init(imageWidth: Int, imageHeight: Int, cropMode: CropMode, grid: Rectangle, gridRows: Int, gridColumns: Int,
                patchSize: Int, configuration: EvidenceConfiguration, thresholds: [Double], image: Detector.Verdict,
                windows: [Window]) {
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.cropMode = cropMode
        self.grid = grid
        self.gridRows = gridRows
        self.gridColumns = gridColumns
        self.patchSize = patchSize
        self.configuration = configuration
        self.thresholds = thresholds
        self.image = image
        imageMargin = EvidenceMap.margin(logLikelihoods: image.logLikelihoods, thresholds: thresholds)
        self.windows = windows
    }

    /// The joint margin of per-member log-likelihoods: `min over m of (logLikelihoods[m] − thresholds[m])`.
    public static func margin(logLikelihoods: [Double], thresholds: [Double]) -> Double {
        zip(logLikelihoods, thresholds).map { $0 - $1 }.min() ?? .nan
    }

    /// The mean margin of the windows covering each patch, `gridRows × gridColumns` row-major
    /// (every patch is covered by at least one window).
    public func patchMargins() -> [Double] {
        var sums = [Double](repeating: 0, count: gridRows * gridColumns)
        var counts = [Int](repeating: 0, count: gridRows * gridColumns)
        let side = configuration.windowPatches
        for window in windows {
            for r in window.row..<min(gridRows, window.row + side) {
                for c in window.column..<min(gridColumns, window.column + side) {
                    sums[r * gridColumns + c] += window.margin
                    counts[r * gridColumns + c] += 1
                }
            }
        }
        return zip(sums, counts).map { $1 > 0 ? $0 / Double($1) : .nan }
    }
}
