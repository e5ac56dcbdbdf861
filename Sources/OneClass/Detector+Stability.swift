import Foundation
import Imaging

extension Detector {
    /// The optional stability check of a verdict: the image is re-encoded once, as an honest photo
    /// commonly is on its way to a detector, and scored again; when the score rule decides
    /// differently on the two — real on one and generated on the other — the verdict is
    /// ``Verdict/Decision/uncertain`` with the reason code `stability`.
    ///
    /// The re-encode is one JPEG round trip (Imaging's `Image.jpegRoundTrip(quality:subsampling:)`,
    /// Pillow's encoder and decoder) at ``jpegQuality`` with ``subsampling``; the default,
    /// ``default``, is quality 90 with 4:2:0 chroma (Pillow's default sampling, and a quality
    /// common for photos published on the web). The re-encoded image is tokenised and scored
    /// exactly as the original (``Detector/scoring``), so the check doubles the cost of a verdict.
    ///
    /// The rule (``Detector/verdict(logLikelihoods:patchCount:source:perCropLogLikelihoods:reencoded:)``):
    /// both images' scores are judged by the score part of the ``Verdict`` rule — each member's
    /// calibration band, then the joint rule — without the domain check (the re-encode is a JPEG
    /// by construction, which says nothing about the file the user gave). Only a flip between
    /// real and generated counts; a score that moves into or out of the uncertain band does not
    /// (the band already says what the calibration cannot resolve). The re-encoded scores are
    /// reported in ``Verdict/stability`` whether the verdict flips or not.
    ///
    /// A detection-time option: it is not stored in the detector file.
    public struct Stability: Equatable, Hashable, Sendable, CustomStringConvertible {
        /// The IJG quality of the one JPEG re-encode, 1…100.
        public var jpegQuality: Int
        /// The chroma sampling of the re-encode.
        public var subsampling: ChromaSubsampling

        /// One JPEG round trip at quality 90 with 4:2:0 chroma.
        public static let `default` = Stability(uncheckedJPEGQuality: 90, subsampling: .ratio420)

        /// Creates and validates a stability check.
        ///
        /// - Throws: ``DetectorError/invalidConfiguration(_:)`` for a quality outside 1…100.
        public init(jpegQuality: Int = 90, subsampling: ChromaSubsampling = .ratio420) throws(DetectorError) {
            self.init(uncheckedJPEGQuality: jpegQuality, subsampling: subsampling)
            try validate()
        }

        private init(uncheckedJPEGQuality jpegQuality: Int, subsampling: ChromaSubsampling) {
            self.jpegQuality = jpegQuality
            self.subsampling = subsampling
        }

        /// Throws ``DetectorError/invalidConfiguration(_:)`` unless the quality is in 1…100.
        public func validate() throws(DetectorError) {
            guard (1...100).contains(jpegQuality) else {
                throw .invalidConfiguration("stability re-encode JPEG quality \(jpegQuality), expected 1…100")
            }
        }

        /// The re-encode in words, e.g. `JPEG q=90, 4:2:0`.
        public var description: String { "JPEG q=\(jpegQuality), \(subsampling.notation)" }

        /// The image after the one re-encode.
        ///
        /// - Parameters:
        ///   - image: the image to re-encode.
        ///   - path: names the image in errors.
        /// - Throws: ``DetectorError/image(_:)`` (`ImageError.encodingFailed`, naming `path`) when
        ///   the image cannot be encoded or the result decoded.
        public func reencoded(_ image: Image, path: String = "<memory>") throws(DetectorError) -> Image {
            try validate()
            do {
                return try image.jpegRoundTrip(quality: jpegQuality, subsampling: subsampling).image
            } catch {
                throw .image(.encodingFailed(path: path, detail: "the stability re-encode (\(self)) failed: \(error)"))
            }
        }
    }

    /// What the stability check found (``Verdict/stability``).
    public struct StabilityCheck: Codable, Equatable, Sendable {
        /// The re-encode, in words (``Stability/description``, e.g. `JPEG q=90, 4:2:0`).
        public var reencode: String
        /// Each member's log-likelihood of the re-encoded image, in member order (aggregated over
        /// its crops as ``Detector/scoring`` says).
        public var logLikelihoods: [Double]
        /// The score rule's decision on the re-encoded image (bands, then the joint rule; no
        /// domain check).
        public var decision: Verdict.Decision
        /// Whether the score rule calls one image real and the other generated (the verdict is then
        /// uncertain with the reason `stability`).
        public var flips: Bool

        /// Creates a record.
        public init(reencode: String, logLikelihoods: [Double], decision: Verdict.Decision, flips: Bool) {
            self.reencode = reencode
            self.logLikelihoods = logLikelihoods
            self.decision = decision
            self.flips = flips
        }
    }

    /// The sentence for a verdict that flips under the re-encode.
    static func stabilityReason(stability: Stability, original: Verdict.Decision, originalScores: [Double],
                                reencoded: Verdict.Decision, reencodedScores: [Double]) -> Verdict.Reason {
        func scores(_ values: [Double]) -> String { values.map { String(format: "%.2f", $0) }.joined(separator: ", ") }
        return Verdict.Reason(code: "stability", message: "verdict flips under one benign re-encode (\(stability)): "
            + "\(original.rawValue) on the image (log-likelihood \(scores(originalScores))), "
            + "\(reencoded.rawValue) after it (\(scores(reencodedScores)))")
    }
}
