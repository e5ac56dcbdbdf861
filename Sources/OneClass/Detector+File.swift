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
// `FileMetadata` below): the format version, the tokenizer, the scoring, and per member the weights' file name
// and SHA-256, the digest of the embedded parameters, the mixture's configuration and convergence
// record, the threshold and how it was chosen; plus the fit summary. The mixture's covariances are
// not stored (they play no part in scoring); loading recomputes them from the precision factors.

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
            let mixture = member.mixture
            let k = mixture.componentCount, d = mixture.featureCount
            entries.append(("member\(m).mixture.weights", .float64(shape: [k], values: mixture.weights)))
            entries.append(("member\(m).mixture.means", .float64(shape: [k, d], values: mixture.means.elements)))
            let factors: SafeTensors.Entry
            switch mixture.precisionsCholesky {
            case let .full(matrices): factors = .float64(shape: [k, d, d], values: matrices.flatMap(\.elements))
            case let .tied(matrix): factors = .float64(shape: [d, d], values: matrix.elements)
            case let .diagonal(matrix): factors = .float64(shape: [k, d], values: matrix.elements)
            case let .spherical(values): factors = .float64(shape: [k], values: values)
            }
            entries.append(("member\(m).mixture.precisions_cholesky", factors))
        }
        let metadata = FileMetadata(
            formatVersion: Detector.formatVersion, creator: "Grain", tokenizer: tokenizer, scoring: scoring,
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
            // The extractor.
            let prefix = "member\(m).extractor."
            var tensors: [String: Tensor] = [:]
            for key in file.keys where key.hasPrefix(prefix) {
                do { tensors[String(key.dropFirst(prefix.count))] = try file.tensor(named: key) } catch { throw invalid("\(error)") }
                expectedKeys.insert(key)
            }
            let extractor = LowLevelFeatureExtractor()
            do {
                try extractor.load(tensors)
            } catch {
                throw invalid("member \(m) extractor (tensors '\(prefix)*'): \(error)")
            }
            let digest = Detector.parametersDigest(of: tensors)
            guard digest == record.provenance.parametersSHA256 else {
                throw .parametersDigestMismatch(path: path, member: m, expected: record.provenance.parametersSHA256, actual: digest)
            }

            // The mixture.
            let k = record.componentCount, d = record.featureCount
            let type = record.mixtureConfiguration.covarianceType
            guard k >= 1, k == record.mixtureConfiguration.componentCount, d == LowLevelFeatureExtractor.featureDimension else {
                throw invalid("member \(m): \(k) components and \(d) features recorded (expected ≥ 1 and \(LowLevelFeatureExtractor.featureDimension), components as configured)")
            }
            func values(_ name: String, shape: [Int]) throws(DetectorError) -> [Double] {
                let key = "member\(m).mixture.\(name)"
                expectedKeys.insert(key)
                let stored: [Double]
                do {
                    let info = try file.info(named: key)
                    guard info.shape == shape else { throw invalid("'\(key)' has shape \(info.shape), expected \(shape)") }
                    stored = try file.doubles(named: key)
                } catch let error as DetectorError {
                    throw error
                } catch {
                    throw invalid("\(error)")
                }
                guard stored.allSatisfy(\.isFinite) else { throw invalid("'\(key)' holds a NaN or infinite value") }
                return stored
            }
            let weights = try values("weights", shape: [k])
            let means = Matrix(rows: k, columns: d, elements: try values("means", shape: [k, d]))
            guard weights.allSatisfy({ $0 >= 0 }), abs(weights.reduce(0, +) - 1) < 1e-6 else {
                throw invalid("member \(m): the mixture weights are not a probability distribution")
            }
            let factors: GaussianMixture.CovarianceParameters
            switch type {
            case .full:
                let all = try values("precisions_cholesky", shape: [k, d, d])
                factors = .full((0..<k).map { Matrix(rows: d, columns: d, elements: Array(all[($0 * d * d)..<(($0 + 1) * d * d)])) })
            case .tied:
                factors = .tied(Matrix(rows: d, columns: d, elements: try values("precisions_cholesky", shape: [d, d])))
            case .diagonal:
                factors = .diagonal(Matrix(rows: k, columns: d, elements: try values("precisions_cholesky", shape: [k, d])))
            case .spherical:
                factors = .spherical(try values("precisions_cholesky", shape: [k]))
            }
            let covariances: GaussianMixture.CovarianceParameters
            do {
                covariances = try Detector.covariances(fromPrecisionsCholesky: factors)
            } catch {
                throw invalid("member \(m): \(error)")
            }
            if let problem = GaussianMixture.shapeProblem(configuration: record.mixtureConfiguration, weights: weights, means: means,
                                                          covariances: covariances, precisionsCholesky: factors) {
                throw invalid("member \(m): \(problem)")
            }
            let mixture = GaussianMixture(
                configuration: record.mixtureConfiguration,
                parameters: .init(weights: weights, means: means, covariances: covariances, precisionsCholesky: factors),
                converged: record.converged, iterationCount: record.iterationCount,
                lowerBound: record.lowerBound ?? -.infinity, lowerBoundHistory: record.lowerBoundHistory)
            guard record.threshold.isFinite else { throw invalid("member \(m): threshold \(record.threshold) is not finite") }
            members.append(Member(extractor: extractor, mixture: mixture, threshold: record.threshold,
                                  provenance: record.provenance, thresholdReport: record.thresholdReport))
        }
        if let extra = file.keys.first(where: { !expectedKeys.contains($0) }) {
            throw invalid("unexpected tensor '\(extra)'")
        }
        guard metadata.tokenizer.maximumPatches > 0 else { throw invalid("the tokenizer's patch cap must be positive") }
        self.init(members: members, tokenizer: metadata.tokenizer, scoring: metadata.scoring ?? .wholeImage, fitSummary: metadata.fit)
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

    /// Covariances `Σ = (U·Uᵀ)⁻¹ = U⁻ᵀ·U⁻¹` from upper-triangular precision factors `U` (one
    /// triangular solve per component), `1/u²` for diagonal and spherical ones.
    static func covariances(fromPrecisionsCholesky factors: GaussianMixture.CovarianceParameters) throws -> GaussianMixture.CovarianceParameters {
        func invert(_ u: Matrix) throws -> Matrix {
            let inverse = try u.solveTriangular(Matrix(identity: u.rows), lower: false)
            return Matrix.product(inverse, inverse, transposeA: true)
        }
        switch factors {
        case let .full(matrices): return .full(try matrices.map(invert))
        case let .tied(matrix): return .tied(try invert(matrix))
        case let .diagonal(roots):
            return .diagonal(Matrix(rows: roots.rows, columns: roots.columns, elements: roots.elements.map { 1 / ($0 * $0) }))
        case let .spherical(roots): return .spherical(roots.map { 1 / ($0 * $0) })
        }
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
