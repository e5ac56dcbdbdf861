import ArgumentParser
import Diffusion
import Foundation
import Pretext

/// `grain pretext`: build and merge the 11-class pretext dataset.
struct PretextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretext", abstract: "Build the 11-class pretext dataset from real photos.",
        subcommands: [Build.self, Merge.self])

    /// `grain pretext build`.
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the original, the VAE reconstruction and nine restorations of each photo (resumable, shardable).",
            discussion: """
            Photos are assigned to shards by content hash and their noise seeds derive from it, so \
            every machine writes identical bytes. Files are written atomically; rerunning the same \
            command skips verified photos and finishes the rest. Merge the shards with \
            `grain pretext merge`. See Documentation/ScalingOut.md.
            """)

        @Option(help: "Folders (searched recursively) or files of real photos.") var photos: [String]
        @Option(help: "A diffusers Stable Diffusion folder (unet/, vae/, text_encoder/).") var stableDiffusion: String?
        @Option(help: "A small denoiser folder (vae/, unet/) from `grain denoiser train`, instead of --stable-diffusion.")
        var smallDenoiser: String?
        @Option(help: "Weights variant in the folder, e.g. fp16 (converted to float32).") var variant: String?
        @Option(help: "The dataset folder.") var out: String
        @Option(help: "Side of the centre crop taken from each photo (a multiple of 64); default: the largest fitting crop.")
        var cropSize: Int?
        @Option(help: "Crops of --crop-size per photo, spread over it on a grid (each with its own 11 images).")
        var cropsPerPhoto = 1
        @Option(help: "This shard, as i/n (0-based).") var shard = "0/1"

        func run() throws {
            guard let shard = Shard(shard) else { throw ValidationError("--shard must be i/n with 0 ≤ i < n, got \(shard)") }
            let pipeline: RestorationPipeline<StableDiffusionCodec, StableDiffusionDenoiser>
            switch (stableDiffusion, smallDenoiser) {
            case (let folder?, nil): pipeline = try .stableDiffusion(folder: URL(fileURLWithPath: folder), variant: variant)
            case (nil, let folder?): pipeline = try .smallDenoiser(folder: URL(fileURLWithPath: folder))
            default: throw ValidationError("give exactly one of --stable-diffusion and --small-denoiser")
            }
            if let cropSize, cropSize <= 0 || cropSize % pipeline.sizeMultiple != 0 {
                throw ValidationError("--crop-size \(cropSize) must be a positive multiple of \(pipeline.sizeMultiple)")
            }
            guard cropsPerPhoto >= 1, cropsPerPhoto == 1 || cropSize != nil else {
                throw ValidationError("--crops-per-photo \(cropsPerPhoto): give a positive number, and a --crop-size for more than one")
            }
            let builder = PretextDatasetBuilder(pipeline: pipeline, output: URL(fileURLWithPath: out), cropSize: cropSize,
                                                cropsPerPhoto: cropsPerPhoto, shard: shard)
            let files = try imageFiles(photos).map { URL(fileURLWithPath: $0) }
            var progress = Progress(total: 0, unit: "photos")
            let report = try builder.build(photos: files) { _, total in
                progress.total = total
                progress.advance()
            }
            for problem in report.unusable { printError("skipped \(problem)") }
            printError("shard \(shard): \(report.photos) photos, \(report.built) built, \(report.skipped) already done"
                       + (report.unusable.isEmpty ? "" : ", \(report.unusable.count) unusable (listed above)"))
        }
    }

    /// `grain pretext merge`.
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join the shard manifests into manifest.jsonl, checking every photo has its 11 images.")

        @Option(help: "The dataset folder.") var out: String
        @Option(help: "The number of shards the dataset was built with.") var shards = 1

        func run() throws {
            let manifest = try PretextDatasetBuilder<StableDiffusionCodec, StableDiffusionDenoiser>.merge(
                output: URL(fileURLWithPath: out), shards: shards)
            printError("manifest.jsonl: \(manifest.records.count) images of \(Set(manifest.records.map(\.source)).count) photos")
        }
    }
}
