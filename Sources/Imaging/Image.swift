import CImageCodecs

/// An 8-bit raster image: interleaved samples, rows top to bottom, pixels left to right, the
/// layout of Pillow's `Image.tobytes()`.
///
/// `channels` is 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). Decoding always yields RGB,
/// exactly as Pillow's `Image.open(path).convert("RGB")` (see ``Image/init(contentsOf:pixelLimit:)``);
/// the other layouts exist for building and encoding images.
///
/// ```swift
/// let image = try Image(contentsOfFile: "photo.jpg")        // [H, W, 3] bytes
/// let small = image.resized(width: 256, height: 160)         // Pillow's BICUBIC
/// let input = small.tensor()                                  // [3, 160, 256] in [0, 1]
/// ```
public struct Image: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Samples per pixel: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    public let channels: Int
    /// `height × width × channels` samples, row-major and interleaved.
    public private(set) var pixels: [UInt8]

    /// Wraps interleaved samples.
    ///
    /// - Precondition: `width, height ≥ 1`, `channels` in 1...4 and
    ///   `pixels.count == width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        Image.validate(width: width, height: height, channels: channels, op: "Image(width:height:channels:pixels:)")
        precondition(pixels.count == width * height * channels,
                     "Image(width:height:channels:pixels:): \(width)×\(height)×\(channels) needs "
                     + "\(width * height * channels) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image with every sample set to `value`.
    ///
    /// - Precondition: `width, height ≥ 1` and `channels` in 1...4.
    public init(width: Int, height: Int, channels: Int, repeating value: UInt8 = 0) {
        Image.validate(width: width, height: height, channels: channels, op: "Image(width:height:channels:repeating:)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = [UInt8](repeating: value, count: width * height * channels)
    }

    /// Creates an image whose samples `body` writes; every one of the
    /// `width × height × channels` samples must be written.
    @usableFromInline
    init(width: Int, height: Int, channels: Int,
         initializingWith body: (UnsafeMutableBufferPointer<UInt8>) throws -> Void) rethrows {
        Image.validate(width: width, height: height, channels: channels, op: "Image")
        let count = width * height * channels
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try body(buffer)
            initialized = count
        }
    }

    /// Checks a geometry, naming `op` in the failure message.
    @usableFromInline
    static func validate(width: Int, height: Int, channels: Int, op: String) {
        precondition(width >= 1 && height >= 1, "\(op): image size must be at least 1×1, got \(width)×\(height)")
        precondition((1...4).contains(channels), "\(op): channels must be 1...4, got \(channels)")
        let (area, overflow1) = width.multipliedReportingOverflow(by: height)
        let (_, overflow2) = area.multipliedReportingOverflow(by: channels)
        precondition(!overflow1 && !overflow2, "\(op): \(width)×\(height)×\(channels) overflows")
    }

    /// The number of pixels, `width × height`.
    public var pixelCount: Int { width * height }

    /// The sample of `channel` at column `x`, row `y`.
    ///
    /// - Precondition: the coordinates are inside the image.
    public subscript(x x: Int, y y: Int, channel channel: Int) -> UInt8 {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels,
                         "Image[x:y:channel:]: (\(x), \(y), \(channel)) is outside \(width)×\(height)×\(channels)")
            return pixels[(y * width + x) * channels + channel]
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels,
                         "Image[x:y:channel:]: (\(x), \(y), \(channel)) is outside \(width)×\(height)×\(channels)")
            pixels[(y * width + x) * channels + channel] = newValue
        }
    }

    /// Calls `body` with the samples, read-only.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try pixels.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the samples, writable (the count cannot change).
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<UInt8>) throws -> R
    ) rethrows -> R {
        try pixels.withUnsafeMutableBufferPointer { buffer in try body(buffer) }
    }

    /// The SHA-256 of ``pixels`` as 64 lowercase hex digits: equal to
    /// `hashlib.sha256(pil_image.tobytes()).hexdigest()` for the same pixels, which makes decoder
    /// parity checkable without storing reference images.
    public var pixelDigest: String {
        pixels.withUnsafeBytes { SHA256.hexDigest($0) }
    }
}
