extension Image {
    /// The `width × height` region whose top-left pixel is (`x`, `y`), as Pillow's
    /// `image.crop((x, y, x + width, y + height))` for a region inside the image.
    ///
    /// - Precondition: the region lies inside the image and is at least 1×1 (Pillow pads regions
    ///   that stick out with zeros; Grain treats them as a caller's mistake).
    public func cropped(x: Int, y: Int, width: Int, height: Int) -> Image {
        precondition(width >= 1 && height >= 1 && x >= 0 && y >= 0 && x + width <= self.width && y + height <= self.height,
                     "Image.cropped: region (x: \(x), y: \(y), \(width)×\(height)) is not inside the \(self.width)×\(self.height) image")
        let channels = self.channels
        let sourceStride = self.width * channels
        let rowBytes = width * channels
        return pixels.withUnsafeBufferPointer { source in
            Image(width: width, height: height, channels: channels) { out in
                let sourceBase = source.baseAddress!
                let outBase = out.baseAddress!
                for row in 0..<height {
                    (outBase + row * rowBytes).update(from: sourceBase + (y + row) * sourceStride + x * channels,
                                                      count: rowBytes)
                }
            }
        }
    }

    /// The centred `width × height` region, offset as torchvision's `center_crop`:
    /// `top = round((H − height) / 2)`, `left = round((W − width) / 2)`, rounding halves to even
    /// as Python's `round` does.
    ///
    /// - Precondition: `1 ≤ width ≤ self.width` and `1 ≤ height ≤ self.height`.
    public func centerCropped(width: Int, height: Int) -> Image {
        precondition(width >= 1 && height >= 1 && width <= self.width && height <= self.height,
                     "Image.centerCropped: \(width)×\(height) does not fit in the \(self.width)×\(self.height) image")
        let origin = Image.centerCropOrigin(imageWidth: self.width, imageHeight: self.height, cropWidth: width, cropHeight: height)
        return cropped(x: origin.x, y: origin.y, width: width, height: height)
    }

    /// The left (`x`) and top (`y`) edges of ``centerCropped(width:height:)``'s region in an
    /// `imageWidth × imageHeight` image.
    public static func centerCropOrigin(imageWidth: Int, imageHeight: Int, cropWidth: Int, cropHeight: Int) -> (x: Int, y: Int) {
        (x: Int((Double(imageWidth - cropWidth) / 2).rounded(.toNearestOrEven)),
         y: Int((Double(imageHeight - cropHeight) / 2).rounded(.toNearestOrEven)))
    }
}
