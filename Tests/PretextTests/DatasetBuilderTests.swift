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

    static func builder(output: URL, shard: Shard = .all) -> PretextDatasetBuilder<PixelSpace, SmallDenoiser> {
        PretextDatasetBuilder(pipeline: RestorationPipeline(codec: PixelSpace(), denoiser: SmallDenoiser()), output: output,
                              cropSize: 16, shard: shard)
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

    /// SIGKILL at ten moments spread over the build (between temporary-file creation, writing,
    /// renaming, for images, record files and the manifest), each time resuming in the same
    /// folder; the result must equal an uninterrupted build byte for byte.
    @Test func killedAndResumedBuildIsByteIdentical() async throws {
        let killed = BuilderFixture.root.appendingPathComponent("killed")
        let clean = BuilderFixture.root.appendingPathComponent("clean-\(UUID().uuidString)")
        try? FileManager.default.removeItem(at: killed)
        defer { try? FileManager.default.removeItem(at: killed); try? FileManager.default.removeItem(at: clean) }
        let photos = try BuilderFixture.makePhotos()
        // 4 photos × (11 images + 1 record) + 1 manifest = 49 writes, 3 events each = 147 events.
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
}
