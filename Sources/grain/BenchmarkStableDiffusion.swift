import ArgumentParser
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
    @Option(help: "unet, vae-encode, vae-decode or clip.") var part: String
    @Option(help: "The latent side for unet (32, 64), the image side for the VAE (256, 512).") var size = 32
    @Option(help: "Timed repetitions after one warm-up run (the best is reported).") var repetitions = 3
    @Flag(help: "Print the time of each stage of one pass on standard error.") var blocks = false
    @Flag(help: "Compute every convolution with im2col (no Winograd), for comparison.") var noWinograd = false
    @Flag(help: "Turn the tensor buffer cache off, for comparison.") var noBufferCache = false

    func run() throws {
        if noBufferCache { BufferCache.shared.totalLimitBytes = 0 }
        try ConvolutionAlgorithms.$winogradEnabled.withValue(!noWinograd) { try measure() }
    }

    private func measure() throws {
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
