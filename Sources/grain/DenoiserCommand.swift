import ArgumentParser
import Diffusion
import Evaluation
import Foundation
import Imaging
import NN
import Tensor

/// `grain denoiser`: train and evaluate a small latent diffusion denoiser.
struct DenoiserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "denoiser", abstract: "Train and evaluate a small latent diffusion denoiser (no Stable Diffusion weights needed).",
        subcommands: [TrainDenoiser.self, EvaluateDenoiser.self, PlotLoss.self])
}

/// Loads photos as `[3, H, W]` tensors in `[0, 1]`.
func loadPhotos(_ paths: [String]) throws -> TrainingCrops {
    let files = try imageFiles(paths)
    guard !files.isEmpty else { throw ValidationError("no images under \(paths.joined(separator: ", "))") }
    return TrainingCrops(images: try files.map { Tensor(try Image(contentsOfFile: $0)) })
}

/// `grain denoiser train`.
struct TrainDenoiser: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the small VAE, then the small U-Net on its latents; writes <out>/model (vae/, unet/).",
        discussion: """
        Rerunning the same command resumes both phases from their checkpoints in <out>/vae-training \
        and <out>/unet-training (loss.csv in each). Load the result with \
        `grain pretext build --small-denoiser <out>/model`.
        """)

    @Option(help: "Folders (searched recursively) or files of real photos.") var photos: [String]
    @Option(help: "The output folder.") var out: String
    @Option(help: "Training steps of the VAE.") var vaeSteps = 1000
    @Option(help: "Training steps of the U-Net.") var steps = 1000
    @Option(help: "Side of the random training crops (a multiple of 8).") var cropSize = 32
    @Option(help: "Crops per step.") var batchSize = 8
    @Option(help: "Adam's learning rate (both phases).") var learningRate: Float = 1e-3
    @Option(help: "Checkpoint every this many steps.") var checkpointInterval = 100
    @Option(help: "Seeds weights, crops, noise and timesteps.") var seed: UInt64 = 0
    @Option(help: "The VAE's architecture as a diffusers vae/config.json (default: Grain's small VAE, 4× downsampling).")
    var vaeConfig: String?
    @Option(help: "The U-Net's architecture as a diffusers unet/config.json (default: Grain's small U-Net); its in/out channels must match the VAE's latent channels.")
    var unetConfig: String?

    func run() throws {
        guard cropSize > 0, cropSize % 8 == 0 else { throw ValidationError("--crop-size must be a positive multiple of 8") }
        let vaeConfiguration = try vaeConfig.map { try AutoencoderKLConfiguration(contentsOf: URL(fileURLWithPath: $0)) } ?? .small
        let unetConfiguration = try unetConfig.map { try UNet2DConditionConfiguration(contentsOf: URL(fileURLWithPath: $0)) }
            ?? .small(latentChannels: vaeConfiguration.latentChannels)
        guard unetConfiguration.inChannels == vaeConfiguration.latentChannels,
              unetConfiguration.outChannels == vaeConfiguration.latentChannels else {
            throw ValidationError("\(unetConfig ?? "the U-Net"): in_channels \(unetConfiguration.inChannels) and out_channels "
                                  + "\(unetConfiguration.outChannels) must equal the VAE's latent_channels \(vaeConfiguration.latentChannels)")
        }
        let crops = try loadPhotos(photos)
        func settings(_ steps: Int) -> DiffusionTrainingSettings {
            DiffusionTrainingSettings(steps: steps, batchSize: batchSize, cropSize: cropSize, learningRate: learningRate,
                                      checkpointInterval: checkpointInterval, seed: seed)
        }
        let recipe = SmallDenoiserTraining(vaeConfiguration: vaeConfiguration, unetConfiguration: unetConfiguration,
                                           vaeSettings: settings(vaeSteps), unetSettings: settings(steps))
        var progress: [SmallDenoiserTraining.Phase: Progress] = [:]
        let start = Date()
        let (vae, _) = try recipe.run(crops: crops, output: URL(fileURLWithPath: out)) { phase, report in
            if progress[phase] == nil { printError("\(phase.rawValue):"); progress[phase] = Progress(total: report.totalSteps, unit: "steps") }
            progress[phase]!.total = report.totalSteps
            progress[phase]!.advance()
        }
        printError(String(format: "done in %.0f s; latent scaling factor %.5f; model in %@/model", Date().timeIntervalSince(start),
                          vae.configuration.scalingFactor, out))
    }
}

/// `grain denoiser evaluate`.
struct EvaluateDenoiser: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Corrupt random crops of photos to each level 1…9, restore them, and print the mean absolute error (Markdown).")

    @Option(help: "A small-denoiser folder (vae/, unet/).") var model: String
    @Option(help: "Folders or files of held-out photos.") var photos: [String]
    @Option(help: "Side of the crops (a multiple of 8).") var cropSize = 64
    @Option(help: "Number of crops.") var crops = 32
    @Option(help: "Seeds the crops and the noise.") var seed: UInt64 = 1
    @Option(help: "Also time the restoration of one image of this side per level (0: no timing).") var timingSize = 0

    func run() throws {
        let pipeline = try RestorationPipeline.smallDenoiser(folder: URL(fileURLWithPath: model))
        guard cropSize % pipeline.sizeMultiple == 0 else { throw ValidationError("--crop-size must be a multiple of \(pipeline.sizeMultiple)") }
        let photos = try loadPhotos(self.photos)
        var generator = RandomGenerator(seed: seed, stream: DenoiserEvaluationStreams.crops)
        let images = (photos.batch(count: crops, size: cropSize, using: &generator) + 1) * 0.5
        let noiseSeed = RandomGenerator.derivedSeed(seed, stream: DenoiserEvaluationStreams.noise)
        let seeds = (0..<crops).map { RandomGenerator.derivedSeed(noiseSeed, stream: UInt64($0)) }
        func meanAbsoluteError(_ a: Tensor, _ b: Tensor) -> Double {
            zip(a.scalars, b.scalars).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(b.count)
        }
        // The VAE-only reconstruction isolates the denoiser: restoring level k can only move the
        // image away from it by what the noise destroyed and the U-Net did not bring back.
        let vaeOnly = try pipeline.reconstruct(images)
        let reconstruction = meanAbsoluteError(vaeOnly, images)
        print("| level | t start | MAE restored vs original | MAE restored − VAE-only | MAE restored vs VAE-only |")
        print("|---|---|---|---|---|")
        print(String(format: "| VAE only | – | %.4f | – | 0 |", reconstruction))
        for k in 1...9 {
            let level = try NoiseLevel(k)
            let restored = try pipeline.restore(images, level: level, seeds: seeds)
            let error = meanAbsoluteError(restored, images)
            print(String(format: "| %d | %d | %.4f | %+.4f | %.4f |", k, level.timesteps(in: pipeline.scheduler).first ?? 0, error,
                         error - reconstruction, meanAbsoluteError(restored, vaeOnly)))
        }
        guard timingSize > 0 else { return }
        guard timingSize % pipeline.sizeMultiple == 0, timingSize <= photos.smallestSide else {
            throw ValidationError("--timing-size must be a multiple of \(pipeline.sizeMultiple) and at most \(photos.smallestSide)")
        }
        let image = (photos.batch(count: 1, size: timingSize, using: &generator) + 1) * 0.5
        _ = try pipeline.reconstruct(image)  // warm-up
        print("\n| level | U-Net evaluations | seconds per \(timingSize)² image |")
        print("|---|---|---|")
        var start = Date()
        _ = try pipeline.reconstruct(image)
        print(String(format: "| VAE only | 0 | %.3f |", Date().timeIntervalSince(start)))
        for k in 1...9 {
            start = Date()
            _ = try pipeline.restore(image, level: try NoiseLevel(k), seeds: [seed])
            print(String(format: "| %d | %d | %.3f |", k, k, Date().timeIntervalSince(start)))
        }
    }
}

/// `grain denoiser plot`.
struct PlotLoss: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot", abstract: "Plot the loss column of loss.csv files as an SVG (raw steps faint, moving average solid, log scale).")

    @Option(help: "loss.csv files (one curve each).") var csv: [String]
    @Option(help: "Titles, one per CSV.") var title: [String] = []
    @Option(help: "The SVG to write.") var out: String
    @Option(help: "Moving-average window in steps.") var window = 25

    func run() throws {
        var panels: [(String, [Double])] = []
        for (i, path) in csv.enumerated() {
            let rows = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
            let values = rows.compactMap { $0.split(separator: ",").dropFirst().first.flatMap { Double($0) } }
            panels.append((i < title.count ? title[i] : path, values))
        }
        try Data(lossCurveSVG(panels, window: window).utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
    }
}

/// A side-by-side SVG of loss curves on a log₁₀ axis: each step faint, the moving average solid.
func lossCurveSVG(_ panels: [(title: String, values: [Double])], window: Int) -> String {
    let width = 420.0, height = 280.0, margin = 50.0
    var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width) * panels.count)\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    for (p, panel) in panels.enumerated() {
        let values = panel.values.filter { $0 > 0 && $0.isFinite }
        guard values.count > 1 else { continue }
        let logs = values.map { log10($0) }
        let low = floor(logs.min()! * 4) / 4, high = ceil(logs.max()! * 4) / 4
        let x0 = Double(p) * width + margin, plotWidth = width - 1.5 * margin, plotHeight = height - 2 * margin
        func point(_ i: Int, _ v: Double) -> String {
            let x = x0 + plotWidth * Double(i) / Double(values.count - 1)
            let y = margin + plotHeight * (1 - (v - low) / max(high - low, 1e-9))
            return String(format: "%.1f,%.1f", x, y)
        }
        var average: [Double] = []
        var sum = 0.0
        for i in logs.indices {
            sum += values[i]
            if i >= window { sum -= values[i - window] }
            average.append(log10(sum / Double(min(i + 1, window))))
        }
        svg += "<text x=\"\(x0)\" y=\"\(margin - 15)\" font-size=\"13\">\(panel.title)</text>\n"
        svg += "<rect x=\"\(x0)\" y=\"\(margin)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#888\"/>\n"
        var tick = low
        while tick <= high + 1e-9 {
            let y = margin + plotHeight * (1 - (tick - low) / max(high - low, 1e-9))
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", x0 - 4, y + 4, pow(10, tick))
            tick += 0.25
        }
        svg += "<text x=\"\(x0 + plotWidth / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">step (1…\(values.count))</text>\n"
        svg += "<polyline fill=\"none\" stroke=\"#9ecae1\" stroke-width=\"0.6\" points=\"\(logs.indices.map { point($0, logs[$0]) }.joined(separator: " "))\"/>\n"
        svg += "<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"1.6\" points=\"\(average.indices.map { point($0, average[$0]) }.joined(separator: " "))\"/>\n"
    }
    return svg + "</svg>\n"
}

/// The random streams of `grain denoiser evaluate` under its `--seed` (the CLI's range
/// 100,000 ..< 110,000 in the table at `RandomGenerator.derivedSeed(_:stream:)`).
enum DenoiserEvaluationStreams {
    /// The stream of the crops.
    static let crops: UInt64 = 100_000
    /// The stream whose derived seed seeds each crop's noise (crop `i`: stream `i` under it).
    static let noise: UInt64 = 100_001
}
