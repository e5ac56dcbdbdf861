import Diffusion
import Foundation
import NN

/// How big each stage is. Validated on creation (``validated()``) and on decoding (`--sizes FILE`).
struct Sizes: Codable, Equatable {
    /// Photos whose shorter side is longer are first downscaled to it (box filter), so that a crop
    /// holds a scene's texture rather than a patch of a 2560-px wallpaper's sky.
    var photoSide: Int
    /// Side of the detection crops (real samples) and of the generated images.
    var cropSize: Int
    /// How much the small VAE downsamples: 4 (Grain's `.small`, three levels) or 2 (two levels,
    /// with the U-Net's attention moved to its lower level; a sharper VAE, Results.md).
    var vaeDownsampling: Int
    /// VAE and U-Net training steps, crops per step, crop side.
    var vaeSteps: Int, unetSteps: Int, denoiserBatch: Int, denoiserCrop: Int
    /// Crops of the training photos turned into pretext sets of 11 images, and their side.
    var pretextCrops: Int, pretextCrop: Int
    /// Extractor training: epochs over the pretext images, images per step, crop side, learning rate.
    var extractorEpochs: Int, extractorBatch: Int, extractorCrop: Int, extractorLearningRate: Float
    /// Crops of the training photos the mixture is fitted on.
    var fitCrops: Int
    /// Crops of the calibration photos the threshold is calibrated on.
    var calibrationCrops: Int
    /// Crops of the test photos (real; their VAE reconstructions too), and images generated from noise.
    var testCrops: Int, generatedImages: Int
    /// The mixture's components (diagonal covariances).
    var components: Int
    /// The target false-positive rate of the calibrated threshold.
    var targetFalsePositiveRate: Double

    /// The README's main run: three times the pretext crops and 1.5 times the epochs of the first
    /// version (128 crops, 4 epochs), whose detection was on a knife's edge (Documentation/Results.md,
    /// "The main job at three seeds").
    static let standard = Sizes(photoSide: 384, cropSize: 64, vaeDownsampling: 4, vaeSteps: 250, unetSteps: 400, denoiserBatch: 8,
                                denoiserCrop: 32, pretextCrops: 384, pretextCrop: 32, extractorEpochs: 6, extractorBatch: 16,
                                extractorCrop: 32, extractorLearningRate: 3e-4, fitCrops: 384, calibrationCrops: 128,
                                testCrops: 64, generatedImages: 64, components: 2, targetFalsePositiveRate: 0.05)

    /// A few seconds: checks that every stage runs, not what it finds.
    static let quick = Sizes(photoSide: 64, cropSize: 32, vaeDownsampling: 4, vaeSteps: 2, unetSteps: 2, denoiserBatch: 2,
                             denoiserCrop: 32, pretextCrops: 4, pretextCrop: 32, extractorEpochs: 1, extractorBatch: 8,
                             extractorCrop: 16, extractorLearningRate: 1e-3, fitCrops: 24, calibrationCrops: 12,
                             testCrops: 8, generatedImages: 4, components: 1, targetFalsePositiveRate: 0.1)

    /// The VAE's architecture: Grain's small VAE, or its two-level variant for ``vaeDownsampling`` 2.
    var vaeConfiguration: AutoencoderKLConfiguration {
        var configuration = AutoencoderKLConfiguration.small
        if vaeDownsampling == 2 {
            configuration.blockOutChannels = [32, 64]
            configuration.downBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D"]
            configuration.upBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D"]
        }
        return configuration
    }

    /// The U-Net's architecture: Grain's small U-Net; on the 2× VAE's larger latents its attention
    /// moves to the lower level, which keeps it cheap.
    var unetConfiguration: UNet2DConditionConfiguration {
        var configuration = UNet2DConditionConfiguration.small(latentChannels: vaeConfiguration.latentChannels)
        if vaeDownsampling == 2 {
            configuration.downBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D"]
            configuration.upBlockTypes = ["CrossAttnUpBlock2D", "UpBlock2D"]
        }
        return configuration
    }

    /// The sizes themselves, or a ``SizesError`` naming the first field out of range.
    func validated() throws -> Sizes {
        func check(_ condition: Bool, _ problem: String) throws {
            guard condition else { throw SizesError(problem: problem) }
        }
        let counts: [(String, Int)] = [
            ("photoSide", photoSide), ("cropSize", cropSize), ("vaeSteps", vaeSteps), ("unetSteps", unetSteps),
            ("denoiserBatch", denoiserBatch), ("denoiserCrop", denoiserCrop), ("pretextCrops", pretextCrops),
            ("pretextCrop", pretextCrop), ("extractorEpochs", extractorEpochs), ("extractorBatch", extractorBatch),
            ("extractorCrop", extractorCrop), ("fitCrops", fitCrops), ("calibrationCrops", calibrationCrops),
            ("testCrops", testCrops), ("generatedImages", generatedImages), ("components", components),
        ]
        for (name, value) in counts {
            try check(value >= 1 && value <= 100_000, "\(name) is \(value); it must lie in 1…100000")
        }
        try check(vaeDownsampling == 2 || vaeDownsampling == 4, "vaeDownsampling is \(vaeDownsampling); it must be 2 or 4")
        for (name, value) in [("cropSize", cropSize), ("pretextCrop", pretextCrop), ("extractorCrop", extractorCrop)] {
            try check(value % LowLevelFeatureExtractor.patchSize == 0, "\(name) is \(value); it must be a multiple of 16")
        }
        try check(denoiserCrop % 8 == 0, "denoiserCrop is \(denoiserCrop); it must be a multiple of 8")
        try check(extractorCrop <= pretextCrop, "extractorCrop \(extractorCrop) is larger than pretextCrop \(pretextCrop)")
        try check(cropSize <= photoSide && pretextCrop <= photoSide && denoiserCrop <= photoSide,
                  "a crop side exceeds photoSide \(photoSide)")
        try check(components <= fitCrops, "\(components) components for \(fitCrops) fit crops")
        try check(extractorLearningRate.isFinite && extractorLearningRate > 0 && extractorLearningRate < 1,
                  "extractorLearningRate is \(extractorLearningRate); it must lie in (0, 1)")
        try check(targetFalsePositiveRate > 0 && targetFalsePositiveRate < 1,
                  "targetFalsePositiveRate is \(targetFalsePositiveRate); it must lie in (0, 1)")
        return self
    }

    /// Sizes read from a JSON file with every field of ``Sizes`` (as `sizes.json` in a working folder).
    init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw SizesError(problem: "cannot read \(url.path): \(error.localizedDescription)") }
        do {
            self = try JSONDecoder().decode(Sizes.self, from: data)
        } catch let error as DecodingError {
            throw SizesError(problem: "\(url.path) is not a sizes file: \(error)")
        }
        do { _ = try validated() } catch let error as SizesError { throw SizesError(problem: "\(url.path): \(error.problem)") }
    }

    init(photoSide: Int, cropSize: Int, vaeDownsampling: Int, vaeSteps: Int, unetSteps: Int, denoiserBatch: Int, denoiserCrop: Int,
         pretextCrops: Int, pretextCrop: Int, extractorEpochs: Int, extractorBatch: Int, extractorCrop: Int,
         extractorLearningRate: Float, fitCrops: Int, calibrationCrops: Int, testCrops: Int, generatedImages: Int,
         components: Int, targetFalsePositiveRate: Double) {
        self.photoSide = photoSide; self.cropSize = cropSize; self.vaeDownsampling = vaeDownsampling
        self.vaeSteps = vaeSteps; self.unetSteps = unetSteps; self.denoiserBatch = denoiserBatch; self.denoiserCrop = denoiserCrop
        self.pretextCrops = pretextCrops; self.pretextCrop = pretextCrop
        self.extractorEpochs = extractorEpochs; self.extractorBatch = extractorBatch; self.extractorCrop = extractorCrop
        self.extractorLearningRate = extractorLearningRate; self.fitCrops = fitCrops; self.calibrationCrops = calibrationCrops
        self.testCrops = testCrops; self.generatedImages = generatedImages; self.components = components
        self.targetFalsePositiveRate = targetFalsePositiveRate
    }
}

/// A sizes file or configuration with a field out of range.
struct SizesError: Error, CustomStringConvertible {
    /// What is wrong, naming the field (and the file, when read from one).
    let problem: String
    var description: String { "sizes: \(problem)" }
}
