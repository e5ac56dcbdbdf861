import Foundation
import Imaging
import NN
import Tensor

// A detector file is one safetensors file, self-contained:
//
//   member{m}.extractor.<checkpoint key>   F32   the extractor's 69 tensors (~3 MB per member)
//   member{m}.mixture.weights              F64   [k]
//   member{m}.mixture.means                F64   [k, 528]
//   member{m}.mixture.precisions_cholesky  F64   [k, 528, 528] full, [528, 528] tied,
//                                                [k, 528] diagonal, [k] spherical
//
// and `__metadata__` holds `format: grain.detector` and, under `grain.detector`, JSON (the
// `FileMetadata` below): the format version, the tokenizer, the scoring, the readout, and per member the weights' file name
// and SHA-256, the digest of the embedded parameters, the mixture's configuration and convergence
// record, the threshold and how it was chosen; plus the fit summary. The mixture tensors are
// GaussianMixture+File's (its covariances are recomputed from the precision factors on loading).

extension Detector {
    /// The value of the `format` metadata entry that marks a detector file.
    public static let fileFormat = "grain.detector"
    /// The metadata entry holding the detector's description as JSON.
    public static let metadataKey = "grain.detector"

    /// What a detector file's `grain.detector` metadata holds.
    struct FileMetadata: Codable {
        struct MemberRecord: Codable {
            var provenance: Provenance
            var mixtureConfiguration: GaussianMixture.Configuration
            var componentCount: Int
            var featureCount: Int
            var converged: Bool
            var iterationCount: Int
            var lowerBound: Double?
            var lowerBoundHistory: [Double]
            var threshold: Double
            var thresholdReport: ThresholdReport
        }
        var formatVersion: Int
        var creator: String
        var tokenizer: ImageTokenizer
        /// Absent in files written before multi-crop scoring: the whole image.
        var scoring: Scoring?
        /// Absent in files written before readouts could be chosen: token 0, the authors'.
        var readout: FeatureReadout?
        var members: [MemberRecord]
        var fit: FitSummary?
    }

    /// Writes the detector as one safetensors file at `url` (atomically: readers never see a
    /// partial file): the extractors' weights (float32), the mixtures' parameters (float64, so
    /// scores round-trip exactly) and JSON metadata (see ``fileFormat``). A 6-component full
    /// mixture adds 6 × 528² doubles (13 MB) per member.
    ///
    /// - Throws: ``DetectorError/unwritable(path:reason:)``.
    public func save(to url: URL) throws(DetectorError) {
        var entries: [(String, SafeTensors.Entry)] = []
        for (m, member) in members.enumerated() {
            for (key, tensor) in member.extractor.stateDictionary() {
                entries.append(("member\(m).extractor.\(key)", .float32(tensor)))
            }
            entries += member.mixture.storedEntries(prefix: "member\(m).mixture")
        }
        let metadata = FileMetadata(
            formatVersion: Detector.formatVersion, creator: "Grain", tokenizer: tokenizer, scoring: scoring, readout: readout,
            members: members.map { member in
                let mixture = member.mixture
                return FileMetadata.MemberRecord(
                    provenance: member.provenance, mixtureConfiguration: mixture.configuration,
                    componentCount: mixture.componentCount, featureCount: mixture.featureCount,
                    converged: mixture.converged, iterationCount: mixture.iterationCount,
                    lowerBound: mixture.lowerBound.isFinite ? mixture.lowerBound : nil,
                    lowerBoundHistory: mixture.lowerBoundHistory, threshold: member.threshold,
                    thresholdReport: member.thresholdReport)
            },
            fit: fitSummary)
        do {
            let json = String(decoding: try Detector.metadataEncoder.encode(metadata), as: UTF8.self)
            try SafeTensors.write(entries: entries, metadata: ["format": Detector.fileFormat, Detector.metadataKey: json], to: url)
        } catch let error as WeightFileError {
            throw .unwritable(path: url.path, reason: "\(error)")
        } catch {
            throw .unwritable(path: url.path, reason: "\(error)")
        }
    }

    /// Loads a detector written by ``save(to:)``, validating everything before use: the
    /// metadata, every tensor's presence and shape (no extra tensors), the extractor weights
    /// (strictly, and against their recorded SHA-256), finite mixture parameters and
    /// upper-triangular precision factors with a positive diagonal.
    ///
    /// - Throws: ``DetectorError/invalidDetectorFile(path:reason:)`` naming the file and the first
    ///   problem, ``DetectorError/unsupportedFormatVersion(path:version:)`` or
    ///   ``DetectorError/parametersDigestMismatch(path:member:expected:actual:)``.
    public init(contentsOf url: URL) throws(DetectorError) {
        let path = url.path
        func invalid(_ reason: String) -> DetectorError { .invalidDetectorFile(path: path, reason: reason) }
        let file: SafeTensors
        do {
            file = try SafeTensors(contentsOf: url)
        } catch {
            throw invalid("\(error)")
        }
        guard file.metadata["format"] == Detector.fileFormat, let json = file.metadata[Detector.metadataKey] else {
            throw invalid("no '\(Detector.metadataKey)' metadata (a weights file? detectors are written by `grain fit`)")
        }
        // Read the version alone first, so a newer layout is reported as such, not as a decoding error.
        struct Version: Decodable { var formatVersion: Int }
        let metadata: FileMetadata
        do {
            let version = try JSONDecoder().decode(Version.self, from: Data(json.utf8)).formatVersion
            guard version <= Detector.formatVersion, version >= 1 else {
                throw DetectorError.unsupportedFormatVersion(path: path, version: version)
            }
            metadata = try Detector.metadataDecoder.decode(FileMetadata.self, from: Data(json.utf8))
        } catch let error as DetectorError {
            throw error
        } catch {
            throw invalid("malformed metadata: \(error)")
        }
        guard !metadata.members.isEmpty else { throw invalid("no members") }

        var expectedKeys = Set<String>()
        var members: [Member] = []
        for (m, record) in metadata.members.enumerated() {
            let extractor = try Detector.readExtractor(from: file, path: path, member: m, record: record, keys: &expectedKeys)
            guard record.featureCount == LowLevelFeatureExtractor.featureDimension else {
                throw invalid("member \(m): \(record.featureCount) features recorded, the extractor gives \(LowLevelFeatureExtractor.featureDimension)")
            }
            let mixture: GaussianMixture
            do {
                mixture = try GaussianMixture.read(
                    from: file, prefix: "member\(m).mixture", configuration: record.mixtureConfiguration,
                    componentCount: record.componentCount, featureCount: record.featureCount, converged: record.converged,
                    iterationCount: record.iterationCount, lowerBound: record.lowerBound,
                    lowerBoundHistory: record.lowerBoundHistory, keys: &expectedKeys)
            } catch {
                throw invalid("member \(m): \(error)")
            }
            guard record.threshold.isFinite else { throw invalid("member \(m): threshold \(record.threshold) is not finite") }
            members.append(Member(extractor: extractor, mixture: mixture, threshold: record.threshold,
                                  provenance: record.provenance, thresholdReport: record.thresholdReport))
        }
        if let extra = file.keys.first(where: { !expectedKeys.contains($0) }) {
            throw invalid("unexpected tensor '\(extra)'")
        }
        self.init(members: members, tokenizer: metadata.tokenizer, scoring: metadata.scoring ?? .wholeImage,
                  readout: metadata.readout ?? .firstToken, fitSummary: metadata.fit)
    }

    /// Member `m`'s extractor (`member{m}.extractor.*`), loaded strictly and checked against the
    /// recorded digest; adds the keys it read to `keys`.
    private static func readExtractor(from file: SafeTensors, path: String, member m: Int, record: FileMetadata.MemberRecord,
                                      keys: inout Set<String>) throws(DetectorError) -> LowLevelFeatureExtractor {
        let prefix = "member\(m).extractor."
        var tensors: [String: Tensor] = [:]
        for key in file.keys where key.hasPrefix(prefix) {
            do {
                tensors[String(key.dropFirst(prefix.count))] = try file.tensor(named: key)
            } catch {
                throw .invalidDetectorFile(path: path, reason: "\(error)")
            }
            keys.insert(key)
        }
        let extractor = LowLevelFeatureExtractor()
        do {
            try extractor.load(tensors)
        } catch {
            throw .invalidDetectorFile(path: path, reason: "member \(m) extractor (tensors '\(prefix)*'): \(error)")
        }
        let digest = parametersDigest(of: tensors)
        guard digest == record.provenance.parametersSHA256 else {
            throw .parametersDigestMismatch(path: path, member: m, expected: record.provenance.parametersSHA256, actual: digest)
        }
        return extractor
    }

    /// Loads the detector file at `path`; see ``init(contentsOf:)``.
    public init(contentsOfFile path: String) throws(DetectorError) {
        try self.init(contentsOf: URL(fileURLWithPath: path))
    }

    /// The `grain.detector` metadata of a detector file as indented JSON (for `grain inspect`),
    /// or `nil` when `file` is not a detector file.
    public static func metadataDescription(of file: SafeTensors) -> String? {
        guard file.metadata["format"] == fileFormat, let json = file.metadata[metadataKey],
              let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
              let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        else { return nil }
        return String(decoding: pretty, as: UTF8.self)
    }

    /// JSON for the metadata: sorted keys, infinities and NaN as strings (JSON has none).
    static var metadataEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// The decoder matching ``metadataEncoder``.
    static var metadataDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
