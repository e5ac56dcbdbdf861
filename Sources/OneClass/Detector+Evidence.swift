import Foundation
import Imaging
import NN
import Tensor

extension Detector {
    /// The log-likelihood of each region of `image`: windows of
    /// `windowPatches × windowPatches` patch tokens slid over the patch grid by `stridePatches`,
    /// each window's tokens through every member's extractor and mixture — exactly as a crop of
    /// that region would be scored on its own — and the whole image's verdict beside them.
    ///
    /// The grid is the one ``tokenizer`` cuts (the same crop to whole 16-px patches); window
    /// origins along each axis are `0, s, 2s, …` plus one flush with the far edge when the last
    /// does not reach it (``EvidenceConfiguration/origins(extent:)``), so every patch is covered.
    /// A window at grid row `r`, column `c` covers pixels `grid.x + 16c ..< grid.x + 16(c + W)`
    /// and likewise vertically; scoring `image.cropped(...)` of that rectangle with
    /// ``score(_:path:)`` gives the same log-likelihoods up to float rounding (the windows are
    /// batched through the extractor).
    ///
    /// **Honesty note.** A region score is how typical that region's low-level statistics are of
    /// the real photos the mixtures were fitted on. It is not a segmentation and not a
    /// localisation of generated content. Windows overlap, so neighbouring scores share pixels.
    /// Each region is scored out of its context: the transformer sees only the window's tokens,
    /// not the rest of the image, so the whole-image score is not an average of region scores.
    /// A low region in a real photo is normal texture that the fit photos lacked (sky, text,
    /// flat colour, blur, a sensor or format the fit set did not have).
    ///
    /// Cost: one extractor pass per member over `windowPatches²` tokens per window, plus the
    /// whole image once; the window count is bounded by ``EvidenceConfiguration/maximumWindows``
    /// and checked before any work.
    ///
    /// ```swift
    /// let map = try detector.evidence(image, configuration: try EvidenceConfiguration(windowPatches: 8, stridePatches: 4))
    /// let leastTypical = map.windows.min { $0.margin < $1.margin }
    /// ```
    ///
    /// - Parameters:
    ///   - image: the image to map (RGB, as ``detect(_:source:path:stability:)`` takes it).
    ///   - configuration: the windows.
    ///   - path: names the image in errors.
    ///   - progress: called after each batch of windows with (windows done, windows in all).
    /// - Throws: ``EvidenceError/imageTooSmall(path:width:height:rows:columns:windowPatches:)``
    ///   when the grid cannot hold one window, ``EvidenceError/windowOverPatchCap(windowPatches:maximumPatches:)``,
    ///   ``EvidenceError/tooManyWindows(path:count:limit:)``, or ``EvidenceError/detector(_:)``
    ///   for a non-finite feature.
    public func evidence(_ image: Image, configuration: EvidenceConfiguration = .standard, path: String = "<memory>",
                         progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws(EvidenceError) -> EvidenceMap {
        try configuration.validate()
        let side = configuration.windowPatches, patch = PatchTokenizer.patchSize
        guard side * side <= tokenizer.maximumPatches else {
            throw .windowOverPatchCap(windowPatches: side, maximumPatches: tokenizer.maximumPatches)
        }
        // Images under one patch on a side are resized up by the tokenizer: no region to map.
        var (rows, columns) = (0, 0)
        if image.width >= patch && image.height >= patch {
            (rows, columns) = tokenizer.grid(width: image.width, height: image.height)
        }
        let rowOrigins = configuration.origins(extent: rows), columnOrigins = configuration.origins(extent: columns)
        guard !rowOrigins.isEmpty && !columnOrigins.isEmpty else {
            throw .imageTooSmall(path: path, width: image.width, height: image.height, rows: rows, columns: columns,
                                 windowPatches: side)
        }
        let origins = rowOrigins.flatMap { row in columnOrigins.map { (row: row, column: $0) } }
        guard origins.count <= configuration.maximumWindows else {
            throw .tooManyWindows(path: path, count: origins.count, limit: configuration.maximumWindows)
        }
        let verdict: Verdict
        do { verdict = try detect(image, path: path) } catch { throw .detector(error) }

        // The grid as torchvision's centre crop places it (padding, in the authors' mode, gives
        // a negative offset).
        func offset(image: Int, crop: Int) -> Int {
            crop > image ? -((crop - image) / 2) : Int((Double(image - crop) / 2).rounded(.toNearestOrEven))
        }
        let grid = EvidenceMap.Rectangle(x: offset(image: image.width, crop: columns * patch),
                                         y: offset(image: image.height, crop: rows * patch),
                                         width: columns * patch, height: rows * patch)
        // Every patch of the grid, [P, 3, 16, 16], raster order (no cap: windows pick from all).
        let allPatches: PatchTokenizer
        do { allPatches = try PatchTokenizer(maximumPatches: rows * columns) } catch {
            throw .invalidConfiguration("the patch grid \(rows) × \(columns): \(error)")
        }
        let patches = allPatches.tokens(tokenizer.croppedTensor(image)).reshaped([rows * columns, 3, patch, patch])

        var windows: [EvidenceMap.Window] = []
        windows.reserveCapacity(origins.count)
        var start = 0
        while start < origins.count {
            let batch = origins[start..<min(origins.count, start + configuration.batchSize)]
            var indices: [Int] = []
            indices.reserveCapacity(batch.count * side * side)
            for origin in batch {
                for r in origin.row..<(origin.row + side) {
                    for c in origin.column..<(origin.column + side) { indices.append(r * columns + c) }
                }
            }
            // [B, W², 3, 16, 16]: each window's tokens in raster order, as a crop's would be.
            let tokens = Tensor.withoutGradient { patches.indexSelected(axis: 0, indices: indices) }
                .reshaped([batch.count, side * side, 3, patch, patch])
            let scores: [[Double]]
            do { scores = try logLikelihoods(features: features(tokens: tokens), path: path) } catch { throw .detector(error) }
            for (origin, logLikelihoods) in zip(batch, scores) {
                let rectangle = EvidenceMap.Rectangle(x: grid.x + origin.column * patch, y: grid.y + origin.row * patch,
                                                      width: side * patch, height: side * patch)
                windows.append(EvidenceMap.Window(
                    row: origin.row, column: origin.column, rectangle: rectangle, logLikelihoods: logLikelihoods,
                    margin: EvidenceMap.margin(logLikelihoods: logLikelihoods, thresholds: thresholds)))
            }
            start += batch.count
            progress?(windows.count, origins.count)
        }
        return EvidenceMap(imageWidth: image.width, imageHeight: image.height, cropMode: tokenizer.cropMode, grid: grid,
                           gridRows: rows, gridColumns: columns, patchSize: patch, configuration: configuration,
                           thresholds: thresholds, image: verdict, windows: windows)
    }

    /// ``evidence(_:configuration:path:progress:)`` of the image file at `url`.
    ///
    /// - Parameters:
    ///   - url: a JPEG or PNG file.
    ///   - configuration: the windows.
    ///   - pixelLimit: the most pixels to decode (nil: no limit).
    ///   - progress: called after each batch of windows with (windows done, windows in all).
    /// - Throws: ``EvidenceError/detector(_:)`` wrapping ``DetectorError/image(_:)`` when the
    ///   file cannot be decoded, or as ``evidence(_:configuration:path:progress:)``.
    public func evidence(contentsOf url: URL, configuration: EvidenceConfiguration = .standard,
                         pixelLimit: Int? = Image.defaultPixelLimit,
                         progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws(EvidenceError) -> EvidenceMap {
        let image: Image
        do { image = try Detector.decode(url, pixelLimit: pixelLimit) } catch { throw .detector(error) }
        return try evidence(image, configuration: configuration, path: url.path, progress: progress)
    }
}
