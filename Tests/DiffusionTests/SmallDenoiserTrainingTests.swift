import Foundation
import Testing
import NN
import Tensor
import Diffusion

/// The small-denoiser trainers on synthetic images with tiny models: the loss falls, an
/// interrupted run resumes to the same weights, and the saved folder loads into the pipeline.
@Suite struct SmallDenoiserTrainingTests {
    /// Smooth synthetic photographs `[3, 40, 40]` in `[0, 1]`: sinusoids of random frequency and phase.
    static func syntheticCrops(count: Int = 4, side: Int = 40) -> TrainingCrops {
        var generator = RandomGenerator(seed: 11)
        let images = (0..<count).map { _ -> Tensor in
            let fx = Float.random(in: 0.05...0.3, using: &generator), fy = Float.random(in: 0.05...0.3, using: &generator)
            let phases = (0..<3).map { _ in Float.random(in: 0...6, using: &generator) }
            var scalars: [Float] = []
            for c in 0..<3 {
                for y in 0..<side {
                    for x in 0..<side { scalars.append(0.5 + 0.4 * sin(fx * Float(x) + fy * Float(y) + phases[c])) }
                }
            }
            return Tensor(shape: [3, side, side], scalars: scalars)
        }
        return TrainingCrops(images: images)
    }

    static var tinyVAE: AutoencoderKLConfiguration {
        var c = AutoencoderKLConfiguration.small
        c.blockOutChannels = [8, 16]
        c.downBlockTypes = Array(repeating: "DownEncoderBlock2D", count: 2)
        c.upBlockTypes = Array(repeating: "UpDecoderBlock2D", count: 2)
        c.normNumGroups = 4
        return c
    }

    static var tinyUNet: UNet2DConditionConfiguration {
        var c = UNet2DConditionConfiguration.small()
        c.blockOutChannels = [8, 16]
        c.normNumGroups = 4
        c.crossAttentionDimension = 8
        c.attentionHeadDimension = .shared(2)
        return c
    }

    static func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("grain-small-\(UUID().uuidString)", isDirectory: true)
    }

    static func mean(_ values: ArraySlice<TrainingLossRecord>) -> Float {
        values.map { $0.values[0] }.reduce(0, +) / Float(values.count)
    }

    @Test func autoencoderLossFalls() throws {
        let output = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        // 40 steps: from these draws (DiffusionStreams) 30 steps end at 0.600 of the first five
        // steps' loss, on the bar; a VAE that does not learn stays near 1.
        let settings = DiffusionTrainingSettings(steps: 40, batchSize: 4, cropSize: 16, learningRate: 3e-3, checkpointInterval: 100, seed: 1)
        let trainer = try AutoencoderTrainer(configuration: Self.tinyVAE, settings: settings, crops: Self.syntheticCrops(), output: output)
        let losses = try trainer.run()
        #expect(losses.count == 40)
        #expect(Self.mean(losses.suffix(5)) < 0.6 * Self.mean(losses.prefix(5)))
        let csv = try String(contentsOf: output.appendingPathComponent("loss.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("step,loss,reconstruction,kl\n1,"))
    }

    @Test func unetLossFalls() throws {
        let output = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        let vae = try AutoencoderKL(configuration: Self.tinyVAE)
        var generator = RandomGenerator(seed: 3)
        vae.initializeParameters(using: &generator)
        let settings = DiffusionTrainingSettings(steps: 30, batchSize: 4, cropSize: 16, learningRate: 3e-3, checkpointInterval: 100, seed: 2)
        let trainer = try UNetTrainer(configuration: Self.tinyUNet, vae: vae, settings: settings, crops: Self.syntheticCrops(), output: output)
        let losses = try trainer.run()
        #expect(Self.mean(losses.suffix(8)) < 0.8 * Self.mean(losses.prefix(8)))
    }

    @Test func resumeMatchesUninterruptedRun() throws {
        let crops = Self.syntheticCrops()
        let settings = DiffusionTrainingSettings(steps: 6, batchSize: 2, cropSize: 16, learningRate: 1e-3, checkpointInterval: 100, seed: 5)
        let whole = Self.temporaryFolder(), split = Self.temporaryFolder()
        defer { for url in [whole, split] { try? FileManager.default.removeItem(at: url) } }
        // Autoencoder.
        let reference = try AutoencoderTrainer(configuration: Self.tinyVAE, settings: settings, crops: crops, output: whole)
        let referenceLosses = try reference.run()
        // A finished 3-step run, extended to 6 steps.
        var shorter = settings
        shorter.steps = 3
        try AutoencoderTrainer(configuration: Self.tinyVAE, settings: shorter, crops: crops, output: split).run()
        let resumed = try AutoencoderTrainer(configuration: Self.tinyVAE, settings: settings, crops: crops, output: split)
        #expect(try resumed.run() == referenceLosses)
        #expect(resumed.vae.stateDictionary().mapValues(\.scalars) == reference.vae.stateDictionary().mapValues(\.scalars))
        // U-Net on the trained VAE.
        let unetWhole = whole.appendingPathComponent("unet"), unetSplit = split.appendingPathComponent("unet")
        let unetReference = try UNetTrainer(configuration: Self.tinyUNet, vae: reference.vae, settings: settings, crops: crops, output: unetWhole)
        let unetLosses = try unetReference.run()
        try UNetTrainer(configuration: Self.tinyUNet, vae: reference.vae, settings: settings, crops: crops, output: unetSplit).run(stopAfter: 4)
        let unetResumed = try UNetTrainer(configuration: Self.tinyUNet, vae: reference.vae, settings: settings, crops: crops, output: unetSplit)
        #expect(try unetResumed.run() == unetLosses)
        #expect(unetResumed.unet.stateDictionary().mapValues(\.scalars) == unetReference.unet.stateDictionary().mapValues(\.scalars))
    }

    @Test func savedFolderLoadsIntoThePipeline() throws {
        let output = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        let settings = DiffusionTrainingSettings(steps: 2, batchSize: 2, cropSize: 16, learningRate: 1e-3, checkpointInterval: 100, seed: 9)
        let recipe = SmallDenoiserTraining(vaeConfiguration: Self.tinyVAE, unetConfiguration: Self.tinyUNet,
                                           vaeSettings: settings, unetSettings: settings)
        let crops = Self.syntheticCrops()
        let (vae, unet) = try recipe.run(crops: crops, output: output)
        #expect(vae.configuration.scalingFactor != 1 && vae.configuration.scalingFactor.isFinite)
        let pipeline = try RestorationPipeline.smallDenoiser(folder: output.appendingPathComponent("model"))
        #expect(pipeline.codec.vae.configuration == vae.configuration)
        #expect(pipeline.denoiser.unet.stateDictionary().mapValues(\.scalars) == unet.stateDictionary().mapValues(\.scalars))
        #expect(pipeline.denoiser.emptyPromptEmbedding.shape == [1, 1, 8])
        var generator = RandomGenerator(seed: 0)
        let images = (crops.batch(count: 1, size: 16, using: &generator) + 1) * 0.5
        let restored = try pipeline.restore(images, level: try NoiseLevel(2), seeds: [1])
        #expect(restored.shape == [1, 3, 16, 16])
        #expect(restored.scalars.allSatisfy { $0.isFinite })
        // Running again resumes both phases at their last step and rewrites the same model.
        let (again, _) = try recipe.run(crops: crops, output: output)
        #expect(again.stateDictionary().mapValues(\.scalars) == vae.stateDictionary().mapValues(\.scalars))
    }
}
