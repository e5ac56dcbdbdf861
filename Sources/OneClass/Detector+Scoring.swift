import Imaging
import NN
import Tensor

extension Detector {
    /// How a detector scores one image: the whole image once (the authors' way, the default), or
    /// `K` square crops of side `S` at fixed grid positions whose log-likelihoods are aggregated.
    ///
    /// The crops lie where Imaging's `Image.gridCropOrigins(width:height:cropSize:count:)` puts
    /// them (a grid shaped like the image, corner to corner; `K = 1` is the centre crop), so a
    /// score depends only on the image. An image smaller than `S` on either side is scored whole,
    /// once. Fitting scores its calibration photos with the same ``tokens(of:tokenizer:)`` and
    /// ``aggregate(_:)`` as detection, so the calibrated rate is the rate of this scoring.
    ///
    /// Stored in the detector file; files written before it existed read as ``wholeImage``.
    public struct Scoring: Codable, Equatable, Hashable, Sendable {
        /// How the per-crop log-likelihoods of one member become the image's.
        public enum Aggregation: String, Codable, CaseIterable, Sendable {
            /// Their mean.
            case mean
            /// Their median (the mean of the two middle values for an even count).
            case median
            /// The lowest: an image is as generated-looking as its most generated-looking crop.
            case minimum
        }

        /// The most crops per image (bounds the batch a single image can ask for).
        public static let maximumCropCount = 256

        /// Crops per image `K`, 0…``maximumCropCount``; 0 scores the whole image once.
        public var cropCount: Int
        /// The crop side `S` in pixels: a multiple of 16 from 16 to 4096 (unused when `K` is 0).
        public var cropSize: Int
        /// How the `K` per-crop log-likelihoods are combined (unused with one sample).
        public var aggregation: Aggregation

        /// The whole image, once (the paper's scoring and the default).
        public static let wholeImage = Scoring(uncheckedCropCount: 0, cropSize: 256, aggregation: .mean)

        /// Creates and validates a scoring.
        ///
        /// - Throws: ``DetectorError/invalidConfiguration(_:)`` naming the bad field.
        public init(cropCount: Int, cropSize: Int = 256, aggregation: Aggregation = .mean) throws(DetectorError) {
            self.init(uncheckedCropCount: cropCount, cropSize: cropSize, aggregation: aggregation)
            try validate()
        }

        private init(uncheckedCropCount cropCount: Int, cropSize: Int, aggregation: Aggregation) {
            self.cropCount = cropCount
            self.cropSize = cropSize
            self.aggregation = aggregation
        }

        /// Throws ``DetectorError/invalidConfiguration(_:)`` unless `0 ≤ K ≤ 256` and `S` is a
        /// multiple of 16 in 16…4096.
        public func validate() throws(DetectorError) {
            guard (0...Self.maximumCropCount).contains(cropCount) else {
                throw .invalidConfiguration("scoring crop count \(cropCount), expected 0…\(Self.maximumCropCount) (0: the whole image)")
            }
            guard (16...4096).contains(cropSize), cropSize % 16 == 0 else {
                throw .invalidConfiguration("scoring crop size \(cropSize), expected a multiple of 16 from 16 to 4096")
            }
        }

        enum CodingKeys: String, CodingKey { case cropCount, cropSize, aggregation }

        /// Decodes a scoring and validates it.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(uncheckedCropCount: try container.decode(Int.self, forKey: .cropCount),
                      cropSize: try container.decode(Int.self, forKey: .cropSize),
                      aggregation: try container.decode(Aggregation.self, forKey: .aggregation))
            do { try validate() } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
            }
        }

        /// The crops' top-left corners in a `width × height` image, or nil when it is scored whole
        /// (`K` = 0, or the image smaller than `S` on a side). Grid positions that coincide (an
        /// image only as large as `S` on a side puts several rows or columns at the same place) are
        /// scored once: a 256 × 256 image with `K` = 8 crops of 256 is one crop, not eight copies
        /// of it, so it costs one crop's time and its score is that crop's.
        public func cropOrigins(width: Int, height: Int) -> [(x: Int, y: Int)]? {
            guard cropCount > 0, width >= cropSize, height >= cropSize else { return nil }
            var seen = Set<[Int]>()
            return Image.gridCropOrigins(width: width, height: height, cropSize: cropSize, count: cropCount)
                .filter { seen.insert([$0.x, $0.y]).inserted }
        }

        /// The tokens of every region scored: `[R, N, 3, 16, 16]`, `R = K` crops of `(S/16)²`
        /// patches each (capped by the tokenizer), or `R = 1` for the whole image.
        public func tokens(of image: Image, tokenizer: ImageTokenizer) -> Tensor {
            guard let origins = cropOrigins(width: image.width, height: image.height) else { return tokenizer.tokens(image) }
            let crops = origins.map { tokenizer.tokens(image.cropped(x: $0.x, y: $0.y, width: cropSize, height: cropSize)) }
            return crops.count == 1 ? crops[0] : Tensor.concatenate(crops, axis: 0)
        }

        /// One member's log-likelihood of an image from those of its regions (in region order).
        /// NaN for an empty list.
        public func aggregate(_ logLikelihoods: [Double]) -> Double {
            guard !logLikelihoods.isEmpty else { return .nan }
            if logLikelihoods.count == 1 { return logLikelihoods[0] }
            switch aggregation {
            case .mean:
                return logLikelihoods.reduce(0, +) / Double(logLikelihoods.count)
            case .median:
                let sorted = logLikelihoods.sorted(), middle = sorted.count / 2
                return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
            case .minimum:
                return logLikelihoods.min()!
            }
        }

        /// The per-member image scores from per-region, per-member log-likelihoods `[R][members]`
        /// (``Detector/logLikelihoods(features:path:)``): one ``aggregate(_:)`` per member.
        public func aggregate(regions: [[Double]]) -> [Double] {
            guard let memberCount = regions.first?.count else { return [] }
            return (0..<memberCount).map { member in aggregate(regions.map { $0[member] }) }
        }
    }
}
