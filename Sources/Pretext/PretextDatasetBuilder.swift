import Diffusion
import Foundation
import Imaging
import Tensor

/// A deterministic partition of work: shard `index` of `count` (`--shard i/n`).
public struct Shard: Sendable, Codable, Equatable, CustomStringConvertible {
    /// This shard, in `0..<count`.
    public var index: Int
    /// The number of shards.
    public var count: Int

    /// The whole job as one shard.
    public static let all = Shard(index: 0, count: 1)

    /// Creates a shard.
    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "Shard: \(index)/\(count) is not a shard (need 0 ≤ i < n)")
        self.index = index
        self.count = count
    }

    /// Parses `"i/n"`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else { return nil }
        self.init(index: i, count: n)
    }

    /// `"i/n"`.
    public var description: String { "\(index)/\(count)" }

    /// Whether the photo with content hash `hash` (hex) belongs to this shard: the first 16 hex
    /// digits as a number, modulo `count`. Any machine with the same photos agrees.
    public func contains(contentHash hash: String) -> Bool {
        (UInt64(hash.prefix(16), radix: 16) ?? 0) % UInt64(count) == UInt64(index)
    }
}

/// Why building or merging a dataset failed.
public enum PretextDatasetError: Error, Equatable, CustomStringConvertible {
    /// A photo could not be read or decoded.
    case unreadablePhoto(path: String, reason: String)
    /// A photo is too small for the crop or for the denoiser.
    case photoTooSmall(path: String, width: Int, height: Int, needed: Int)
    /// The restoration failed.
    case restorationFailed(path: String, reason: String)
    /// A shard manifest is missing or a photo lacks some of its 11 images.
    case incomplete(folder: String, reason: String)
    /// The folder holds a build made with other crop settings (or an unreadable record of them).
    case incompatibleSettings(path: String, reason: String)

    /// A readable explanation naming the file.
    public var description: String {
        switch self {
        case .unreadablePhoto(let p, let r): "\(p): cannot read the photo: \(r)"
        case .photoTooSmall(let p, let w, let h, let n): "\(p): \(w)×\(h) is smaller than the \(n)-pixel crop the denoiser needs"
        case .restorationFailed(let p, let r): "\(p): restoration failed: \(r)"
        case .incomplete(let f, let r): "\(f): the dataset is incomplete: \(r)"
        case .incompatibleSettings(let p, let r): "\(p): \(r)"
        }
    }
}

/// Builds the 11-class pretext dataset (DESIGN.md §6–7) from real photos and a restoration
/// pipeline: for each photo, the original crop (class 0), its reconstruction by the codec
/// (class 1) and its restorations from noise levels 1…9 (classes 2–10), as lossless PNGs with a
/// JSON-lines manifest.
///
/// Built to scale out and to survive being killed:
/// - photos are assigned to shards by their content hash (``Shard``), so any machine with the
///   same photos computes the same partition;
/// - a photo's noise seed derives from its content hash, so every shard on every machine writes
///   identical bytes;
/// - every file is written atomically (Tensor's `AtomicFile`); a photo's record file
///   `records/HASH.jsonl` is written last and marks it done;
/// - a rerun skips the photos whose record file is present and whose images verify (SHA-256),
///   redoes the others, and removes temporary files a killed run left;
/// - each shard writes `manifest-shard-I-of-N.jsonl`; ``merge(output:shards:)`` joins them into
///   `manifest.jsonl` and checks that every photo has its 11 images.
///
/// With ``cropsPerPhoto`` > 1 every photo gives that many crops (Imaging's `Image.gridCropOrigins(width:height:cropSize:count:)`),
/// each with its own 11 images and noise seeds; the crops of a photo share its `source`, so a
/// validation split by source keeps them together.
///
/// Layout: `images/HH/HASH/CLASS.png` (or `images/HH/HASH/CROP/CLASS.png` with several crops per
/// photo), `records/HASH.jsonl`, `build-settings.json` (the crop settings: a rerun with other
/// settings is refused rather than mixed in), manifests at the top.
public struct PretextDatasetBuilder<Codec: LatentCodec, Model: Denoiser> {
    /// The codec and denoiser that make classes 1–10.
    public var pipeline: RestorationPipeline<Codec, Model>
    /// The dataset folder.
    public var output: URL
    /// The side of the centre crop taken from each photo; `nil` takes the largest centred crop
    /// whose sides are multiples of the pipeline's size multiple.
    public var cropSize: Int?
    /// How many crops of ``cropSize`` each photo gives (1: the centre crop).
    public var cropsPerPhoto: Int
    /// Which photos this run builds.
    public var shard: Shard
    /// Called between file operations (tests use it to kill the process at chosen moments).
    public var event: (String) -> Void = { _ in }

    /// Creates a builder.
    ///
    /// - Parameters:
    ///   - pipeline: the codec and denoiser that make classes 1–10.
    ///   - output: the dataset folder.
    ///   - cropSize: the side of the crops, a multiple of the pipeline's size multiple; `nil`
    ///     takes the largest centred crop.
    ///   - cropsPerPhoto: crops per photo, spread over it on a grid; more than one needs a `cropSize`.
    ///   - shard: which photos this run builds.
    public init(pipeline: RestorationPipeline<Codec, Model>, output: URL, cropSize: Int? = nil, cropsPerPhoto: Int = 1,
                shard: Shard = .all) {
        if let cropSize {
            precondition(cropSize > 0 && cropSize % pipeline.sizeMultiple == 0,
                         "PretextDatasetBuilder: crop size \(cropSize) is not a multiple of \(pipeline.sizeMultiple)")
        }
        precondition(cropsPerPhoto >= 1 && (cropsPerPhoto == 1 || cropSize != nil),
                     "PretextDatasetBuilder: \(cropsPerPhoto) crops per photo (need 1, or a crop size for more)")
        self.pipeline = pipeline
        self.output = output
        self.cropSize = cropSize
        self.cropsPerPhoto = cropsPerPhoto
        self.shard = shard
    }

    /// The noise seed of crop `crop` of the photo with content hash `hash` (the manifest's
    /// `seed`): stream `crop` under the seed that the hash's first 16 hex digits spell, by
    /// Tensor's one seed derivation, so one photo's crops never share noise.
    static func seed(hash: String, crop: Int) -> UInt64 {
        RandomGenerator.derivedSeed(UInt64(hash.prefix(16), radix: 16) ?? 0, stream: UInt64(crop))
    }

    /// The noise seed of restoration level `level` of a crop whose noise seed is `seed`: stream
    /// `level` (1…9) under it.
    static func seed(crop seed: UInt64, level: NoiseLevel) -> UInt64 {
        RandomGenerator.derivedSeed(seed, stream: UInt64(level.value))
    }

    /// The crop settings a dataset folder was built with (`build-settings.json`).
    struct BuildSettings: Codable, Equatable {
        /// The crop side, `nil` for the largest centred crop.
        var cropSize: Int?
        /// Crops per photo.
        var cropsPerPhoto: Int

        enum CodingKeys: String, CodingKey {
            case cropSize = "crop_size"
            case cropsPerPhoto = "crops_per_photo"
        }
    }

    /// Records this build's crop settings in the folder, or checks them against the recorded ones.
    func checkSettings() throws {
        let url = output.appendingPathComponent("build-settings.json")
        let mine = BuildSettings(cropSize: cropSize, cropsPerPhoto: cropsPerPhoto)
        if FileManager.default.fileExists(atPath: url.path) {
            let recorded: BuildSettings
            do { recorded = try JSONDecoder().decode(BuildSettings.self, from: Data(contentsOf: url)) } catch {
                throw PretextDatasetError.incompatibleSettings(path: url.path, reason: "unreadable build settings: \(error)")
            }
            guard recorded == mine else {
                func text(_ s: BuildSettings) -> String { "crop size \(s.cropSize.map(String.init) ?? "largest"), \(s.cropsPerPhoto) per photo" }
                throw PretextDatasetError.incompatibleSettings(
                    path: url.path, reason: "the folder was built with \(text(recorded)), this build asks for \(text(mine)); use another folder")
            }
        } else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try AtomicFile.write(try encoder.encode(mine), to: url, createFolder: true, event: event)
        }
    }

    /// What a build did.
    public struct Report: Sendable, Equatable {
        /// Photos of this shard.
        public var photos: Int
        /// Photos built in this run.
        public var built: Int
        /// Photos already complete and verified.
        public var skipped: Int
        /// Photos left out because they cannot be read or decoded, or are smaller than the crop
        /// (``PretextDatasetError/unreadablePhoto(path:reason:)`` or
        /// ``PretextDatasetError/photoTooSmall(path:width:height:needed:)``), in build order.
        public var unusable: [PretextDatasetError]

        /// Creates a report.
        public init(photos: Int, built: Int, skipped: Int, unusable: [PretextDatasetError] = []) {
            self.photos = photos
            self.built = built
            self.skipped = skipped
            self.unusable = unusable
        }
    }

    /// Builds this shard's photos among `photos`, resuming where a previous run stopped.
    ///
    /// A photo that cannot be read or decoded, or is smaller than the crop, is left out of the
    /// dataset and listed in the report's ``Report/unusable`` (one bad file in a folder of
    /// thousands should not stop a long build); a file that cannot be read at all has no content
    /// hash, so every shard lists it.
    ///
    /// - Parameters:
    ///   - photos: the photos of the whole job; this shard keeps those whose content hash falls in it.
    ///   - progress: called after each photo with (done, total) for this shard.
    public func build(photos: [URL], progress: (Int, Int) -> Void = { _, _ in }) throws -> Report {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        AtomicFile.removeStrayTemporaryFiles(in: output)
        try checkSettings()
        var mine: [(url: URL, data: Data, hash: String)] = []
        var unusable: [PretextDatasetError] = []
        for url in photos {
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                unusable.append(.unreadablePhoto(path: url.path, reason: error.localizedDescription))
                continue
            }
            let hash = SHA256.hexDigest(of: data)
            if shard.contains(contentHash: hash) && !mine.contains(where: { $0.hash == hash }) { mine.append((url, data, hash)) }
        }
        mine.sort { $0.hash < $1.hash }
        var report = Report(photos: mine.count, built: 0, skipped: 0, unusable: unusable)
        var records: [PretextRecord] = []
        for (done, photo) in mine.enumerated() {
            if let existing = verifiedRecords(hash: photo.hash) {
                records += existing
                report.skipped += 1
            } else {
                do {
                    records += try buildPhoto(photo.url, data: photo.data, hash: photo.hash)
                    report.built += 1
                } catch let error as PretextDatasetError {
                    switch error {
                    case .unreadablePhoto, .photoTooSmall: report.unusable.append(error)
                    default: throw error
                    }
                }
            }
            progress(done + 1, mine.count)
        }
        let manifest = PretextManifest(records: records.sorted(by: PretextRecord.manifestOrder))
        try AtomicFile.write(try manifest.encoded(), to: output.appendingPathComponent("manifest-shard-\(shard.index)-of-\(shard.count).jsonl"),
                             createFolder: true, event: event)
        return report
    }

    /// The records of a finished photo, if its record file exists and every image it lists has
    /// the recorded SHA-256.
    func verifiedRecords(hash: String) -> [PretextRecord]? {
        let url = output.appendingPathComponent("records/\(hash).jsonl")
        guard FileManager.default.fileExists(atPath: url.path),
              let manifest = try? PretextManifest(contentsOf: url),
              manifest.records.count == PretextClass.count * cropsPerPhoto else { return nil }
        for record in manifest.records {
            guard let expected = record.sha256,
                  let actual = try? SHA256.hexDigest(ofFileAt: output.appendingPathComponent(record.path)),
                  actual == expected else { return nil }
        }
        return manifest.records
    }

    /// Builds the 11 images of each of a photo's crops and writes its record file last.
    func buildPhoto(_ url: URL, data: Data, hash: String) throws -> [PretextRecord] {
        let image: Image
        do { image = try Image(data: data, name: url.path) } catch {
            throw PretextDatasetError.unreadablePhoto(path: url.path, reason: "\(error)")
        }
        let multiple = pipeline.sizeMultiple
        let width = cropSize ?? (image.width / multiple * multiple)
        let height = cropSize ?? (image.height / multiple * multiple)
        guard width >= multiple, height >= multiple, image.width >= width, image.height >= height else {
            throw PretextDatasetError.photoTooSmall(path: url.path, width: image.width, height: image.height, needed: max(width, multiple))
        }
        let several = cropsPerPhoto > 1
        let origins = (several ? Image.gridCropOrigins(width: image.width, height: image.height, cropSize: width, count: cropsPerPhoto)
                               : [Image.centerCropOrigin(imageWidth: image.width, imageHeight: image.height, cropWidth: width, cropHeight: height)])
            .map { CropOrigin(x: $0.x, y: $0.y) }
        var records: [PretextRecord] = []
        for (crop, origin) in origins.enumerated() {
            let original = image.cropped(x: origin.x, y: origin.y, width: width, height: height)
            let seed = Self.seed(hash: hash, crop: crop)
            let x = Tensor(original).unsqueezed(at: 0)
            var outputs: [(PretextClass, Image, Int?, Int?)] = [(.original, original, nil, nil)]
            do {
                let latents = try pipeline.encode(x)
                outputs.append((.reconstruction, Image(pipeline.decode(latents).squeezed(at: [0])), nil, nil))
                for level in NoiseLevel.all {
                    var steps = try pipeline.steps(restoring: latents, level: level, seeds: [Self.seed(crop: seed, level: level)])
                    let restored = Image(pipeline.decode(steps.finish()).squeezed(at: [0]))
                    outputs.append((.restoration(level: level.value), restored, level.value, level.startTimestep(in: pipeline.scheduler)))
                }
            } catch {
                throw PretextDatasetError.restorationFailed(path: url.path, reason: "\(error)")
            }
            let folder = "images/\(hash.prefix(2))/\(hash)/" + (several ? "\(crop)/" : "")
            for (pretextClass, picture, level, timestep) in outputs {
                let relative = folder + "\(pretextClass.rawValue).png"
                let png = try picture.encoded(as: .png, name: relative)
                try AtomicFile.write(png, to: output.appendingPathComponent(relative), createFolder: true, event: event)
                records.append(PretextRecord(path: relative, source: hash, pretextClass: pretextClass, level: level, timestep: timestep,
                                             meanAbsoluteError: Self.meanAbsoluteError(picture, original),
                                             seed: pretextClass == .original ? nil : seed, sha256: SHA256.hexDigest(of: png),
                                             crop: several ? crop : nil, cropOrigin: several ? origin : nil))
            }
        }
        try AtomicFile.write(try PretextManifest(records: records).encoded(), to: output.appendingPathComponent("records/\(hash).jsonl"),
                             createFolder: true, event: event)
        return records
    }

    /// Mean absolute difference of two equally sized 8-bit images, on the [0, 1] scale.
    static func meanAbsoluteError(_ a: Image, _ b: Image) -> Double {
        precondition(a.pixels.count == b.pixels.count, "meanAbsoluteError: images of different sizes")
        var total = 0
        for (x, y) in zip(a.pixels, b.pixels) { total += abs(Int(x) - Int(y)) }
        return Double(total) / Double(max(a.pixels.count, 1)) / 255
    }
}

extension PretextDatasetBuilder {
    /// Joins the shard manifests of `output` (all `count` of them must exist) into
    /// `manifest.jsonl`, checking that every photo (every crop of it) has exactly its 11 images.
    @discardableResult
    public static func merge(output: URL, shards count: Int) throws -> PretextManifest {
        var records: [PretextRecord] = []
        for index in 0..<count {
            let url = output.appendingPathComponent("manifest-shard-\(index)-of-\(count).jsonl")
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw PretextDatasetError.incomplete(folder: output.path, reason: "shard \(index)/\(count) has no manifest (\(url.lastPathComponent))")
            }
            records += try PretextManifest(contentsOf: url).records
        }
        let byCrop = Dictionary(grouping: records) { "\($0.source)" + ($0.crop.map { " crop \($0)" } ?? "") }
        for (crop, group) in byCrop.sorted(by: { $0.key < $1.key })
        where Set(group.map(\.pretextClass)).count != PretextClass.count || group.count != PretextClass.count {
            throw PretextDatasetError.incomplete(folder: output.path, reason: "photo \(crop) has \(group.count) images, not \(PretextClass.count)")
        }
        let manifest = PretextManifest(records: records.sorted(by: PretextRecord.manifestOrder))
        try AtomicFile.write(try manifest.encoded(), to: output.appendingPathComponent("manifest.jsonl"), createFolder: true)
        return manifest
    }
}
