import ArgumentParser
import Diffusion
import Foundation
import NN
import Tensor
#if canImport(Glibc)
import Glibc
#endif

/// `grain benchmark-sd`: times one Stable Diffusion v1.4 part at its full configuration on the
/// CPU, as `Scripts/compare/sd_speed.py` runs it beside diffusers (one part per process, so the
/// peak memory is that part's).
struct BenchmarkStableDiffusion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-sd",
        abstract: "Time a Stable Diffusion v1.4 part (U-Net, VAE encode/decode, CLIP) on the CPU (one JSON line on standard output).")

    @Option(help: "A diffusers folder (unet/, vae/, text_encoder/); random weights of the SD v1.4 configurations when absent.")
    var folder: String?
    @Option(help: "The weight variant to load from --folder (e.g. fp16).") var variant: String?
    @Option(help: "unet, vae-encode, vae-decode, clip, or pretext-photo (the 11 pretext images of one photo, timed per class).") var part: String
    @Option(help: "The latent side for unet (32, 64), the image side for the VAE and pretext-photo (256, 512).") var size = 32
    @Option(help: "Timed repetitions after one warm-up run (the best is reported).") var repetitions = 3
    @Flag(help: "Print the time of each stage of one pass on standard error.") var blocks = false
    @Flag(help: "Compute every convolution with im2col (no Winograd), for comparison.") var noWinograd = false
    @Flag(help: "Turn the tensor buffer cache off, for comparison.") var noBufferCache = false

    func run() throws {
        if noBufferCache { BufferCache.shared.totalLimitBytes = 0 }
        try ConvolutionAlgorithms.$winogradEnabled.withValue(!noWinograd) { try measure() }
    }

    private func measure() throws {
        if part == "pretext-photo" { return try measurePretextPhoto() }
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let diffusers = try folder.map { try DiffusersFolder(URL(fileURLWithPath: $0)) }
        var generator = RandomGenerator(seed: 0)
        let pass: (((String, Tensor) -> Void)?) throws -> Tensor
        let inputShape: [Int]
        switch part {
        case "unet":
            let unet = try diffusers?.unet(variant: variant) ?? randomized(try UNet2DConditionModel())
            let sample = Tensor.randomNormal([1, 4, size, size], using: &generator)
            let context = Tensor.randomNormal([1, 77, 768], using: &generator)
            inputShape = sample.shape
            pass = { observer in try unet(sample, timesteps: [981], encoderHiddenStates: context, observer: observer) }
        case "vae-encode":
            let vae = try diffusers?.vae(variant: variant) ?? randomized(try AutoencoderKL())
            let image = Tensor.randomUniform([1, 3, size, size], lower: -1, upper: 1, using: &generator)
            inputShape = image.shape
            pass = { observer in
                let moments = vae.encoder(image, observer: observer)
                return DiagonalGaussianDistribution(parameters: vae.quantConv.map { $0(moments) } ?? moments).mean
            }
        case "vae-decode":
            let vae = try diffusers?.vae(variant: variant) ?? randomized(try AutoencoderKL())
            let latent = Tensor.randomNormal([1, 4, size / 8, size / 8], using: &generator)
            inputShape = latent.shape
            pass = { observer in vae.decoder(vae.postQuantConv.map { $0(latent) } ?? latent, observer: observer) }
        case "clip":
            let clip = try diffusers?.textEncoder(variant: variant) ?? randomized(try CLIPTextModel())
            inputShape = [1, 77]
            pass = { _ in try clip([CLIPTextModel.emptyPromptTokens()]).lastHiddenState }
        default:
            throw ValidationError("--part must be unet, vae-encode, vae-decode or clip, not '\(part)'")
        }
        let loadSeconds = seconds(since: loadStart)
        var firstSeconds = 0.0, best = Double.infinity
        try Tensor.withoutGradient {
            for repetition in 0...repetitions {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try pass(nil)
                let elapsed = seconds(since: start)
                if repetition == 0 { firstSeconds = elapsed } else { best = min(best, elapsed) }
            }
            if blocks {
                var last = DispatchTime.now().uptimeNanoseconds
                _ = try pass { name, output in
                    let now = DispatchTime.now().uptimeNanoseconds
                    printError(String(format: "%-16@ %9.1f ms  %@", name as NSString, Double(now - last) / 1e6,
                                      "\(output.shape)" as NSString))
                    last = now
                }
            }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peak = Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
        print("{\"part\": \"\(part)\", \"input\": \(inputShape), \"load_seconds\": \(loadSeconds), "
              + "\"first_seconds\": \(firstSeconds), \"best_seconds\": \(repetitions > 0 ? best : firstSeconds), "
              + "\"peak_rss_mb\": \(peak), \"threads\": \(Parallel.threadCount), \"winograd\": \(!noWinograd), \"buffer_cache\": \(!noBufferCache)}")
    }

    /// The work of one photo in the pretext dataset at `size`²: one VAE encode, the VAE
    /// reconstruction's decode, and for each level k its k DDIM steps (k U-Net evaluations) and a
    /// decode — 45 U-Net evaluations and 10 decodes in all, as `PretextDatasetBuilder` does it.
    /// The empty-prompt embedding is computed once beforehand (it is cached per run). One JSON
    /// line: the seconds of the encode and of each class, and the total.
    private func measurePretextPhoto() throws {
        guard size % 8 == 0 else { throw ValidationError("--size must be a multiple of 8 for pretext-photo, not \(size)") }
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let diffusers = try folder.map { try DiffusersFolder(URL(fileURLWithPath: $0)) }
        let unet = try diffusers?.unet(variant: variant) ?? randomized(try UNet2DConditionModel())
        let vae = try diffusers?.vae(variant: variant) ?? randomized(try AutoencoderKL())
        let clip = try diffusers?.textEncoder(variant: variant) ?? randomized(try CLIPTextModel())
        let loadSeconds = seconds(since: loadStart)
        var start = DispatchTime.now().uptimeNanoseconds
        let denoiser = try Tensor.withoutGradient { try StableDiffusionDenoiser(unet: unet, textEncoder: clip) }
        let promptSeconds = seconds(since: start)
        let pipeline = RestorationPipeline(codec: StableDiffusionCodec(vae: vae), denoiser: denoiser)
        var generator = RandomGenerator(seed: 0)
        let image = Tensor.randomUniform([1, 3, size, size], lower: 0, upper: 1, using: &generator)
        var classes: [(String, Double)] = []
        start = DispatchTime.now().uptimeNanoseconds
        let latents = try pipeline.encode(image)
        let encodeSeconds = seconds(since: start)
        start = DispatchTime.now().uptimeNanoseconds
        _ = pipeline.decode(latents)
        classes.append(("reconstruction", seconds(since: start)))
        var progress = Progress(total: NoiseLevel.all.count, unit: "levels")
        for level in NoiseLevel.all {
            start = DispatchTime.now().uptimeNanoseconds
            var steps = try pipeline.steps(restoring: latents, level: level, seeds: [UInt64(level.value)])
            _ = pipeline.decode(steps.finish())
            classes.append(("level\(level.value)", seconds(since: start)))
            progress.advance()
        }
        let total = encodeSeconds + classes.reduce(0) { $0 + $1.1 }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let fields = classes.map { "\"\($0.0)_seconds\": \($0.1)" }.joined(separator: ", ")
        print("{\"part\": \"pretext-photo\", \"image\": [1, 3, \(size), \(size)], \"load_seconds\": \(loadSeconds), "
              + "\"empty_prompt_seconds\": \(promptSeconds), \"encode_seconds\": \(encodeSeconds), \(fields), "
              + "\"total_seconds\": \(total), \"unet_evaluations\": 45, \"peak_rss_mb\": \(Double(usage.ru_maxrss) / 1024), "
              + "\"threads\": \(Parallel.threadCount), \"winograd\": \(!noWinograd)}")
    }

    private func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Fills every parameter with uniform noise of variance `1/fanIn` (norm scales near 1): speed
    /// does not depend on the values, but NaN-free, order-one activations keep the timing honest.
    private func randomized<M: Module>(_ module: M) -> M {
        var generator = RandomGenerator(seed: 1)
        for (key, parameter) in module.namedParameters() {
            let shape = parameter.shape
            if shape.count >= 2 {
                let bound = (3 / Float(shape.dropFirst().reduce(1, *))).squareRoot()
                parameter.assign(Tensor.randomUniform(shape, lower: -bound, upper: bound, using: &generator))
            } else {
                let isScale = key.hasSuffix("weight") && key.contains("norm")
                parameter.assign(Tensor.randomUniform(shape, lower: isScale ? 0.9 : -0.1, upper: isScale ? 1.1 : 0.1, using: &generator))
            }
        }
        module.setTrainable(false)
        return module
    }
}
