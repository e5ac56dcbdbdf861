import Diffusion
import Foundation
import Testing
import Imaging
import NN
import Tensor
import Pretext
import GrainTestSupport

/// A small pixel-space denoiser with fixed random weights: real arithmetic, cheap, deterministic.
struct SmallDenoiser: Denoiser {
    let convolution: Conv2d

    init() {
        var generator = RandomGenerator(seed: 11)
        convolution = Conv2d(inputChannels: 3, outputChannels: 3, kernelSize: 3, padding: 1, using: &generator)
    }

    func modelOutput(for sample: Tensor, timestep: Int) -> Tensor {
        convolution(sample) * (Float(timestep) / 1000)
    }
}

enum BuilderFixture {
    static let root = FileManager.default.temporaryDirectory.appendingPathComponent("grain-pretext-builder-tests")
    static var photos: URL { root.appendingPathComponent("photos") }

    /// Writes four deterministic photos (different sizes) once.
    static func makePhotos() throws -> [URL] {
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        var generator = RandomGenerator(seed: 2)
        var urls: [URL] = []
        for (i, (w, h)) in [(40, 35), (33, 48), (64, 16), (20, 20)].enumerated() {
            var image = Image(width: w, height: h, channels: 3, repeating: 0)
            for y in 0..<h { for x in 0..<w { for c in 0..<3 {
                image[x: x, y: y, channel: c] = UInt8((x * 5 + y * 3 + c * 40 + Int(generator.next() % 30)) % 256)
            } } }
            let url = photos.appendingPathComponent("photo\(i).png")
            try image.write(to: url, as: .png)
            urls.append(url)
        }
        return urls.sorted { $0.path < $1.path }
    }

    static func builder(output: URL, cropsPerPhoto: Int = 1, shard: Shard = .all) -> PretextDatasetBuilder<PixelSpace, SmallDenoiser> {
        PretextDatasetBuilder(pipeline: RestorationPipeline(codec: PixelSpace(), denoiser: SmallDenoiser()), output: output,
                              cropSize: 16, cropsPerPhoto: cropsPerPhoto, shard: shard)
    }

    /// Every regular file under `folder` (relative path → bytes).
    static func contents(of folder: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for case let path as String in FileManager.default.enumerator(atPath: folder.path) ?? [] .makeIterator() as! FileManager.DirectoryEnumerator {
            var isDirectory: ObjCBool = false
            let url = folder.appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[path] = try Data(contentsOf: url)
            }
        }
        return result
    }

    /// Builds into `killed` until the `count`-th file event, then SIGKILLs itself.
    static func buildAndKill(at count: Int) throws {
        var builder = builder(output: root.appendingPathComponent("killed"))
        var events = 0
        builder.event = { _ in
            events += 1
            if events == count { kill(getpid(), SIGKILL) }
        }
        _ = try builder.build(photos: try makePhotos())
    }
}

@Suite(.serialized) struct DatasetBuilderTests {
    @Test func buildsElevenImagesPerPhotoAndShardsMergeToTheFullRun() throws {
        let photos = try BuilderFixture.makePhotos()
        let full = BuilderFixture.root.appendingPathComponent("full-\(UUID().uuidString)")
        let sharded = BuilderFixture.root.appendingPathComponent("sharded-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: full); try? FileManager.default.removeItem(at: sharded) }
        let report = try BuilderFixture.builder(output: full).build(photos: photos)
        #expect(report == .init(photos: 4, built: 4, skipped: 0))
        let manifest = try PretextDatasetBuilder<PixelSpace, SmallDenoiser>.merge(output: full, shards: 1)
        #expect(manifest.records.count == 44)
        #expect(manifest.records.filter { $0.pretextClass == .original }.allSatisfy { $0.meanAbsoluteError == 0 })
        // In pixel space the codec is the identity: the reconstruction equals the original.
        #expect(manifest.records.filter { $0.pretextClass == .reconstruction }.allSatisfy { $0.meanAbsoluteError == 0 })
        #expect(manifest.records.filter { $0.pretextClass.noiseLevel != nil }.allSatisfy { $0.meanAbsoluteError > 0 })
        // A rerun verifies and skips everything.
        #expect(try BuilderFixture.builder(output: full).build(photos: photos) == .init(photos: 4, built: 0, skipped: 4))
        // Two shards, merged, give the same files and manifest as the full run.
        var photosPerShard: [Int] = []
        for index in 0..<2 {
            photosPerShard.append(try BuilderFixture.builder(output: sharded, shard: Shard(index: index, count: 2)).build(photos: photos).photos)
        }
        #expect(photosPerShard.reduce(0, +) == 4)
        try PretextDatasetBuilder<PixelSpace, SmallDenoiser>.merge(output: sharded, shards: 2)
        let a = try BuilderFixture.contents(of: full).filter { !$0.key.hasPrefix("manifest-shard") }
        let b = try BuilderFixture.contents(of: sharded).filter { !$0.key.hasPrefix("manifest-shard") }
        #expect(a.keys.sorted() == b.keys.sorted())
        #expect(a == b, "sharded build differs from the full build")
    }

    @Test func mergeRefusesAMissingShardOrAnIncompletePhoto() throws {
        let folder = BuilderFixture.root.appendingPathComponent("incomplete-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try BuilderFixture.builder(output: folder, shard: Shard(index: 0, count: 2)).build(photos: try BuilderFixture.makePhotos())
        #expect(throws: PretextDatasetError.self) { try PretextDatasetBuilder<PixelSpace, SmallDenoiser>.merge(output: folder, shards: 2) }
    }

    /// A file that is not an image, an image smaller than the crop and a path that cannot be
    /// read are left out and listed; the other photos are built and merge as usual.
    @Test func unusablePhotosAreSkippedAndListed() throws {
        let folder = BuilderFixture.root.appendingPathComponent("unusable-\(UUID().uuidString)")
        let bad = BuilderFixture.root.appendingPathComponent("bad-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder); try? FileManager.default.removeItem(at: bad) }
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        let notAnImage = bad.appendingPathComponent("broken.png")
        try Data("this is not a PNG".utf8).write(to: notAnImage)
        let tiny = bad.appendingPathComponent("tiny.png")
        try Image(width: 8, height: 8, channels: 3, repeating: 7).write(to: tiny, as: .png)
        let missing = bad.appendingPathComponent("missing.png")
        let report = try BuilderFixture.builder(output: folder).build(photos: try BuilderFixture.makePhotos() + [notAnImage, tiny, missing])
        #expect(report.built == 4 && report.skipped == 0)
        #expect(report.unusable.count == 3, "\(report.unusable)")
        #expect(report.unusable.contains { if case .unreadablePhoto(let path, _) = $0 { path == missing.path } else { false } })
        #expect(report.unusable.contains { if case .unreadablePhoto(let path, _) = $0 { path == notAnImage.path } else { false } })
        #expect(report.unusable.contains { $0 == .photoTooSmall(path: tiny.path, width: 8, height: 8, needed: 16) })
        for problem in report.unusable { print("[unusable] \(problem)") }
        #expect(try PretextDatasetBuilder<PixelSpace, SmallDenoiser>.merge(output: folder, shards: 1).records.count == 44)
    }

    /// A damaged record file or image makes the rerun rebuild that photo (same bytes); a damaged
    /// shard manifest makes the merge fail with the file and line.
    @Test func damagedFilesAreRebuiltOrReported() throws {
        let folder = BuilderFixture.root.appendingPathComponent("damaged-\(UUID().uuidString)")
        let clean = BuilderFixture.root.appendingPathComponent("undamaged-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder); try? FileManager.default.removeItem(at: clean) }
        let photos = try BuilderFixture.makePhotos()
        _ = try BuilderFixture.builder(output: clean).build(photos: photos)
        _ = try BuilderFixture.builder(output: folder).build(photos: photos)
        let records = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("records").path).sorted()
        try Data("{\"truncated\": ".utf8).write(to: folder.appendingPathComponent("records/\(records[0])"))
        let image = try PretextManifest(contentsOf: folder.appendingPathComponent("records/\(records[1])")).records[3].path
        try Data([0x89, 0x50, 0x4E]).write(to: folder.appendingPathComponent(image))
        #expect(try BuilderFixture.builder(output: folder).build(photos: photos) == .init(photos: 4, built: 2, skipped: 2))
        #expect(try BuilderFixture.contents(of: folder) == BuilderFixture.contents(of: clean), "the rebuilt photos differ")

        let shardManifest = folder.appendingPathComponent("manifest-shard-0-of-1.jsonl")
        var lines = try String(contentsOf: shardManifest, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[5] = String(lines[5].prefix(30))
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: shardManifest)
        #expect {
            try PretextDatasetBuilder<PixelSpace, SmallDenoiser>.merge(output: folder, shards: 1)
        } throws: { error in
            print("[damaged manifest] \(error)")
            guard case PretextManifestError.invalidLine(let path, let line, _) = error else { return false }
            return path == shardManifest.path && line == 6
        }
    }

    /// SIGKILL at ten moments spread over the build (between temporary-file creation, writing,
    /// renaming, for images, record files and the manifest), each time resuming in the same
    /// folder; the result must equal an uninterrupted build byte for byte.
    @Test func killedAndResumedBuildIsByteIdentical() async throws {
        let killed = BuilderFixture.root.appendingPathComponent("killed")
        let clean = BuilderFixture.root.appendingPathComponent("clean-\(UUID().uuidString)")
        try? FileManager.default.removeItem(at: killed)
        defer { try? FileManager.default.removeItem(at: killed); try? FileManager.default.removeItem(at: clean) }
        let photos = try BuilderFixture.makePhotos()
        // 1 settings file + 4 photos × (11 images + 1 record) + 1 manifest = 50 writes, 3 events each = 150 events.
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 2) }
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 17) }
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 23) }
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 35) }
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 36) }
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 1) }
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 40) }
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 29) }
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 12) }
        await #expect(processExitsWith: .signal(SIGKILL)) { try BuilderFixture.buildAndKill(at: 3) }
        let resumed = try BuilderFixture.builder(output: killed).build(photos: photos)
        #expect(resumed.skipped > 0 && resumed.built > 0, "the kills should leave some photos done and some not: \(resumed)")
        _ = try BuilderFixture.builder(output: clean).build(photos: photos)
        let a = try BuilderFixture.contents(of: killed), b = try BuilderFixture.contents(of: clean)
        #expect(a.keys.sorted() == b.keys.sorted(), "file sets differ: \(Set(a.keys).symmetricDifference(b.keys))")
        #expect(a == b, "a killed and resumed build differs from a clean one")
    }

    /// Three crops per photo: 11 images per crop, each original the photo's pixels at the
    /// recorded origin, a seed per crop (crop 0 keeps the one-crop seed), and shards that merge
    /// to the full run.
    @Test func severalCropsPerPhotoGiveElevenImagesEach() throws {
        let photos = try BuilderFixture.makePhotos()
        let full = BuilderFixture.root.appendingPathComponent("crops-\(UUID().uuidString)")
        let sharded = BuilderFixture.root.appendingPathComponent("crops-sharded-\(UUID().uuidString)")
        let single = BuilderFixture.root.appendingPathComponent("crops-single-\(UUID().uuidString)")
        defer { for url in [full, sharded, single] { try? FileManager.default.removeItem(at: url) } }
        #expect(try BuilderFixture.builder(output: full, cropsPerPhoto: 3).build(photos: photos) == .init(photos: 4, built: 4, skipped: 0))
        let manifest = try PretextDatasetBuilder<PixelSpace, SmallDenoiser>.merge(output: full, shards: 1)
        #expect(manifest.records.count == 4 * 3 * 11)
        let photoBySource = Dictionary(uniqueKeysWithValues: try photos.map { (try SHA256.hexDigest(ofFileAt: $0), try Image(contentsOf: $0)) })
        for record in manifest.records where record.pretextClass == .original {
            let origin = try #require(record.cropOrigin)
            let photo = try #require(photoBySource[record.source])
            let stored = try Image(contentsOf: full.appendingPathComponent(record.path))
            #expect(stored == photo.cropped(x: origin.x, y: origin.y, width: 16, height: 16), "\(record.path)")
        }
        for (_, group) in Dictionary(grouping: manifest.records, by: \.source) {
            #expect(Set(group.compactMap(\.crop)) == [0, 1, 2])
            #expect(Set(group.compactMap(\.seed)).count == 3, "one seed per crop")
        }
        _ = try BuilderFixture.builder(output: single).build(photos: photos)
        let singleSeeds = Set(try PretextManifest(contentsOf: single.appendingPathComponent("manifest-shard-0-of-1.jsonl")).records.compactMap(\.seed))
        #expect(singleSeeds == Set(manifest.records.filter { $0.crop == 0 }.compactMap(\.seed)))
        #expect(try BuilderFixture.builder(output: full, cropsPerPhoto: 3).build(photos: photos) == .init(photos: 4, built: 0, skipped: 4))
        for index in 0..<2 {
            _ = try BuilderFixture.builder(output: sharded, cropsPerPhoto: 3, shard: Shard(index: index, count: 2)).build(photos: photos)
        }
        try PretextDatasetBuilder<PixelSpace, SmallDenoiser>.merge(output: sharded, shards: 2)
        let a = try BuilderFixture.contents(of: full).filter { !$0.key.hasPrefix("manifest-shard") }
        let b = try BuilderFixture.contents(of: sharded).filter { !$0.key.hasPrefix("manifest-shard") }
        #expect(a == b, "sharded multi-crop build differs from the full build")
    }

    /// A rerun in the same folder with other crop settings is refused with the settings file
    /// named, and so is an unreadable settings file.
    @Test func aRerunWithOtherCropSettingsIsRefused() throws {
        let folder = BuilderFixture.root.appendingPathComponent("settings-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let photos = try BuilderFixture.makePhotos()
        _ = try BuilderFixture.builder(output: folder).build(photos: photos)
        let settings = folder.appendingPathComponent("build-settings.json")
        #expect {
            try BuilderFixture.builder(output: folder, cropsPerPhoto: 2).build(photos: photos)
        } throws: { error in
            print("[other settings] \(error)")
            guard case PretextDatasetError.incompatibleSettings(let path, let reason) = error else { return false }
            return path == settings.path && reason.contains("1 per photo") && reason.contains("2 per photo")
        }
        try Data("{\"crop_size\": ".utf8).write(to: settings)
        #expect {
            try BuilderFixture.builder(output: folder).build(photos: photos)
        } throws: { error in
            guard case PretextDatasetError.incompatibleSettings(let path, let reason) = error else { return false }
            return path == settings.path && reason.contains("unreadable")
        }
    }
}
