import Foundation

/// One image of the pretext dataset: a line of the JSON-lines manifest.
public struct PretextRecord: Sendable, Codable, Equatable, Hashable {
    /// The image file, relative to the manifest's folder (a lossless PNG).
    public var path: String
    /// SHA-256 (hex) of the source photo's bytes: the photo this image derives from.
    public var source: String
    /// The class.
    public var pretextClass: PretextClass
    /// The noise level 1…9 of a restoration, absent otherwise.
    public var level: Int?
    /// The DDIM timestep the restoration started from, absent otherwise.
    public var timestep: Int?
    /// Mean absolute pixel error against the original, on the [0, 1] scale (0 for the original).
    public var meanAbsoluteError: Double
    /// The noise seed (derived from the source hash), absent for the original.
    public var seed: UInt64?
    /// SHA-256 of the image file, checked when a build resumes.
    public var sha256: String?
    /// Which of the photo's crops this image derives from (0-based), absent when the dataset
    /// takes one crop per photo.
    public var crop: Int?
    /// The crop's left and top edges in the photo, in pixels, absent when the dataset takes one
    /// crop per photo (the centre crop).
    public var cropOrigin: CropOrigin?

    /// JSON names as written in the manifest.
    enum CodingKeys: String, CodingKey {
        case path, source, level, timestep, seed, sha256, crop
        case cropOrigin = "crop_origin"
        case pretextClass = "class"
        case meanAbsoluteError = "mae"
    }

    /// Creates a record.
    public init(path: String, source: String, pretextClass: PretextClass, level: Int? = nil, timestep: Int? = nil,
                meanAbsoluteError: Double, seed: UInt64? = nil, sha256: String? = nil, crop: Int? = nil,
                cropOrigin: CropOrigin? = nil) {
        self.path = path
        self.source = source
        self.pretextClass = pretextClass
        self.level = level
        self.timestep = timestep
        self.meanAbsoluteError = meanAbsoluteError
        self.seed = seed
        self.sha256 = sha256
        self.crop = crop
        self.cropOrigin = cropOrigin
    }

    /// The order of a manifest: by source photo, crop, then class.
    static func manifestOrder(_ a: PretextRecord, _ b: PretextRecord) -> Bool {
        (a.source, a.crop ?? 0, a.pretextClass) < (b.source, b.crop ?? 0, b.pretextClass)
    }
}

/// Where a crop lies in its photo: the left (`x`) and top (`y`) edges in pixels.
public struct CropOrigin: Sendable, Codable, Equatable, Hashable {
    /// The left edge.
    public var x: Int
    /// The top edge.
    public var y: Int

    /// Creates an origin.
    public init(x: Int, y: Int) {
        self.x = x
        self.y = y
    }
}

/// Why a manifest could not be read.
public enum PretextManifestError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// A line is not a valid record.
    case invalidLine(path: String, line: Int, reason: String)

    /// A readable explanation naming the file.
    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): cannot read the manifest: \(reason)"
        case .invalidLine(let path, let line, let reason): "\(path):\(line): not a pretext record: \(reason)"
        }
    }
}

/// The JSON-lines manifest of a pretext dataset: one ``PretextRecord`` per line, in a stable order.
public struct PretextManifest: Sendable, Equatable {
    /// The records.
    public var records: [PretextRecord]

    /// Creates a manifest.
    public init(records: [PretextRecord]) { self.records = records }

    /// Reads the manifest at `url`.
    public init(contentsOf url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw PretextManifestError.unreadable(path: url.path, reason: "\(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        var records: [PretextRecord] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do { records.append(try decoder.decode(PretextRecord.self, from: Data(line.utf8))) } catch {
                throw PretextManifestError.invalidLine(path: url.path, line: index + 1, reason: "\(error)")
            }
        }
        self.records = records
    }

    /// The manifest as JSON lines (keys sorted, one record per line).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for record in records {
            data.append(try encoder.encode(record))
            data.append(0x0A)
        }
        return data
    }

    /// Writes the manifest atomically (temporary file + rename).
    public func write(to url: URL) throws {
        try encoded().write(to: url, options: .atomic)
    }

    /// Splits by source photo, so that no photo has images on both sides: sources are ordered by
    /// a hash of (seed, source) and the first `validationFraction` of them go to validation.
    public func split(validationFraction: Double, seed: UInt64) -> (training: PretextManifest, validation: PretextManifest) {
        precondition(validationFraction >= 0 && validationFraction < 1, "PretextManifest.split: fraction \(validationFraction) outside [0, 1)")
        let sources = Array(Set(records.map(\.source))).sorted { stableHash($0, seed) < stableHash($1, seed) }
        let held = Set(sources.prefix(Int((Double(sources.count) * validationFraction).rounded())))
        return (PretextManifest(records: records.filter { !held.contains($0.source) }),
                PretextManifest(records: records.filter { held.contains($0.source) }))
    }
}

/// FNV-1a over the bytes of `text`, mixed with `seed`: stable across runs and platforms.
func stableHash(_ text: String, _ seed: UInt64) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01B3
    }
    return hash
}
