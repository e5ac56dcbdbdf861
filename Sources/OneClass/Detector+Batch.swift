import Foundation
import Imaging
import Tensor

extension Detector {
    /// Judges many image files, calling `handler` for each in input order as soon as its verdict
    /// (or its error) is known; a file that cannot be read does not stop the batch.
    ///
    /// Decoding and tokenising run on one extra thread, at most `lookahead` images ahead of the
    /// extractor (which already uses every core through BLAS), so the CPU rarely waits for the
    /// decoder and memory stays bounded (each prepared image holds its tokens: up to
    /// 19,200 × 3 × 16 × 16 floats, 59 MB).
    ///
    /// - Parameters:
    ///   - files: image files (JPEG or PNG).
    ///   - pixelLimit: the most pixels to decode per image (nil: no limit); larger images get a
    ///     ``DetectorError/image(_:)`` with `ImageError.tooManyPixels`.
    ///   - lookahead: how many decoded images may wait for the extractor (≥ 1).
    ///   - stability: the re-encode of the stability check (``Stability``; done on the decoding
    ///     thread, and the re-encoded image scored after the original: twice the extractor cost),
    ///     or nil (the default) for none.
    ///   - handler: receives the index in `files`, the file and its result; it runs on the
    ///     calling thread. An error it throws stops the batch (the decoder thread is stopped
    ///     and joined) and is rethrown.
    public func detect(files: [URL], pixelLimit: Int? = Image.defaultPixelLimit, lookahead: Int = 2, stability: Stability? = nil,
                       handler: (_ index: Int, _ file: URL, _ result: Result<Verdict, DetectorError>) throws -> Void) rethrows {
        try withTokens(of: files, pixelLimit: pixelLimit, lookahead: lookahead, stability: stability) { index, file, prepared in
            try handler(index, file, prepared.flatMap { prepared in
                Result { () throws(DetectorError) -> Verdict in
                    try verdict(tokens: prepared.tokens, patchCount: prepared.patchCount, source: prepared.source, path: file.path,
                                reencodedTokens: prepared.reencodedTokens)
                }
            })
        }
    }

    /// The verdict (or error) of each file, in input order; see
    /// ``detect(files:pixelLimit:lookahead:stability:handler:)``.
    public func detect(files: [URL], pixelLimit: Int? = Image.defaultPixelLimit, stability: Stability? = nil) -> [Result<Verdict, DetectorError>] {
        var results: [Result<Verdict, DetectorError>] = []
        results.reserveCapacity(files.count)
        detect(files: files, pixelLimit: pixelLimit, stability: stability) { _, _, result in results.append(result) }
        return results
    }

    /// Each file's per-member log-likelihoods (or error), in input order, with decoding on a
    /// second thread as in ``detect(files:pixelLimit:lookahead:stability:handler:)`` — the entry point for
    /// evaluation, which needs scores rather than verdicts.
    public func score(files: [URL], pixelLimit: Int? = Image.defaultPixelLimit, lookahead: Int = 2,
                      handler: (_ index: Int, _ file: URL, _ result: Result<[Double], DetectorError>) throws -> Void) rethrows {
        try withTokens(of: files, pixelLimit: pixelLimit, lookahead: lookahead) { index, file, prepared in
            try handler(index, file, prepared.flatMap { prepared in
                Result { () throws(DetectorError) -> [Double] in try scoredRegions(tokens: prepared.tokens, path: file.path).perMember }
            })
        }
    }

    /// Each file's per-member log-likelihoods (or error), in input order.
    public func score(files: [URL], pixelLimit: Int? = Image.defaultPixelLimit) -> [Result<[Double], DetectorError>] {
        var results: [Result<[Double], DetectorError>] = []
        results.reserveCapacity(files.count)
        score(files: files, pixelLimit: pixelLimit) { _, _, result in results.append(result) }
        return results
    }

    /// Each file's features, one `[R, 528]` per member (one row per region ``scoring`` scores,
    /// `R` = 1 for the whole image) or its error, in input order, with
    /// decoding on a second thread — extract once, then rescore with
    /// ``logLikelihoods(features:path:)`` as often as needed.
    public func features(files: [URL], pixelLimit: Int? = Image.defaultPixelLimit, lookahead: Int = 2,
                         handler: (_ index: Int, _ file: URL, _ result: Result<[Tensor], DetectorError>) throws -> Void) rethrows {
        try withTokens(of: files, pixelLimit: pixelLimit, lookahead: lookahead) { index, file, prepared in
            try handler(index, file, prepared.map { features(tokens: $0.tokens) })
        }
    }

    /// One file made ready for the extractors: its regions' tokens `[R, N, 3, 16, 16]`, the whole
    /// image's patch count and the file's description, and with the stability check the
    /// re-encoded image's regions' tokens.
    struct PreparedImage: Sendable {
        var tokens: Tensor
        var patchCount: Int
        var source: ImageSourceDescription
        var reencodedTokens: (stability: Stability, tokens: Tensor)?
    }

    /// Reads, describes and tokenises `files` (the regions ``scoring`` scores; with `stability`,
    /// those of the re-encoded image too) on a background thread and hands each result to `body`
    /// on the calling thread, in order.
    private func withTokens(of files: [URL], pixelLimit: Int?, lookahead: Int, stability: Stability? = nil,
                            _ body: (Int, URL, Result<PreparedImage, DetectorError>) throws -> Void) rethrows {
        let tokenizer = self.tokenizer, scoring = self.scoring
        try Prefetcher.run(count: files.count, lookahead: lookahead, prepare: { index in
            Result { () throws(DetectorError) -> PreparedImage in
                let (image, source) = try Detector.load(files[index], pixelLimit: pixelLimit)
                var reencodedTokens: (stability: Stability, tokens: Tensor)?
                if let stability {
                    let reencoded = try stability.reencoded(image, path: files[index].path)
                    reencodedTokens = (stability, scoring.tokens(of: reencoded, tokenizer: tokenizer))
                }
                return PreparedImage(tokens: scoring.tokens(of: image, tokenizer: tokenizer),
                                     patchCount: tokenizer.patchCount(width: image.width, height: image.height), source: source,
                                     reencodedTokens: reencodedTokens)
            }
        }, consume: { index, prepared in
            try body(index, files[index], prepared)
        })
    }
}
