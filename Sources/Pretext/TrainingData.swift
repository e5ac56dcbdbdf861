import Foundation
import Imaging
import NN
import Tensor

/// One labelled image for training the extractor.
public struct TrainingSample: Sendable, Equatable {
    /// The image file.
    public var url: URL
    /// The class index (a ``PretextClass`` raw value, or 0 real / 1 generated for fine-tuning).
    public var label: Int
    /// The regression target (the MAE for the pretext task), if any.
    public var target: Float?
    /// The photo the image derives from (keeps a photo's images on one side of a split).
    public var group: String

    /// Creates a sample.
    public init(url: URL, label: Int, target: Float? = nil, group: String) {
        self.url = url
        self.label = label
        self.target = target
        self.group = group
    }

    /// The samples of a pretext manifest whose image paths are relative to `root`.
    public static func pretext(_ manifest: PretextManifest, root: URL) -> [TrainingSample] {
        manifest.records.map {
            TrainingSample(url: root.appendingPathComponent($0.path), label: $0.pretextClass.rawValue,
                           target: Float($0.meanAbsoluteError), group: $0.source)
        }
    }
}

/// A batch ready for the extractor.
public struct TrainingBatch: @unchecked Sendable {
    /// Patch tokens `[B, N, 3, 16, 16]`.
    public var tokens: Tensor
    /// The `B` class indices.
    public var labels: [Int]
    /// The `B` regression targets (0 where a sample has none).
    public var targets: [Float]

    /// Creates a batch; `labels` and `targets` have one entry per image of `tokens`.
    public init(tokens: Tensor, labels: [Int], targets: [Float]) {
        precondition(tokens.rank == 5 && tokens.shape[0] == labels.count && labels.count == targets.count,
                     "TrainingBatch: tokens \(tokens.shape) for \(labels.count) labels and \(targets.count) targets")
        self.tokens = tokens
        self.labels = labels
        self.targets = targets
    }
}

/// Why a training image could not be used.
public enum TrainingDataError: Error, CustomStringConvertible {
    /// The image could not be decoded.
    case unreadable(path: String, underlying: String)
    /// A training run was given no training samples (for the output folder `output`).
    case noTrainingSamples(output: String)

    /// A readable explanation naming the file.
    public var description: String {
        switch self {
        case .unreadable(let path, let underlying): "\(path): cannot be used for training: \(underlying)"
        case .noTrainingSamples(let output): "\(output): no training samples (is the manifest or folder empty, or all held out?)"
        }
    }
}

/// Cuts fixed-size random crops and turns them into patch tokens.
///
/// Each crop is Imaging's `RandomCrops` (one crop of ``cropSize``) drawn from
/// `RandomGenerator(seed: seed, stream: stream(epoch:index:))`, so a batch is the same whether
/// training runs straight through or resumes from a checkpoint. Images smaller than the crop on
/// a side are first resized up to it (bilinear), so every crop is ``cropSize`` square.
public struct CropSampler: Sendable, Codable, Equatable {
    /// The crop side in pixels (a multiple of 16).
    public var cropSize: Int
    /// The sampler's seed (``ExtractorTrainer`` derives one for training and one for validation
    /// crops from its configuration's seed).
    public var seed: UInt64

    /// Creates a sampler.
    public init(cropSize: Int, seed: UInt64) {
        precondition(cropSize >= 16 && cropSize % 16 == 0, "CropSampler: crop size \(cropSize) is not a positive multiple of 16")
        self.cropSize = cropSize
        self.seed = seed
    }

    /// The tokens `[1, (cropSize/16)², 3, 16, 16]` of a random crop of `image`.
    public func tokens(_ image: Image, epoch: Int, index: Int) -> Tensor {
        var source = image
        if source.width < cropSize || source.height < cropSize {
            source = source.resized(width: max(source.width, cropSize), height: max(source.height, cropSize), filter: .bilinear)
        }
        var generator = RandomGenerator(seed: seed, stream: Self.stream(epoch: epoch, index: index))
        let crop = RandomCrops(uncheckedCount: 1, sizes: cropSize...cropSize).crops(of: source, using: &generator)[0]
        return PatchTokenizer().tokens(crop.patchAlignedTensor())
    }

    /// The stream of sample `index`'s crop in epoch `epoch` under the sampler's seed:
    /// `epoch · 2³² + index`, distinct for every pair with fewer than 2³² samples.
    public static func stream(epoch: Int, index: Int) -> UInt64 {
        UInt64(epoch) << 32 | UInt64(UInt32(truncatingIfNeeded: index))
    }

    /// Loads the samples at `indices` and stacks their crops into a batch.
    public func batch(_ samples: [TrainingSample], indices: [Int], epoch: Int) throws -> TrainingBatch {
        var tokens: [Tensor] = []
        for index in indices {
            let image: Image
            do { image = try Image(contentsOf: samples[index].url) } catch {
                throw TrainingDataError.unreadable(path: samples[index].url.path, underlying: "\(error)")
            }
            tokens.append(self.tokens(image, epoch: epoch, index: index))
        }
        return TrainingBatch(tokens: Tensor.concatenate(tokens, axis: 0),
                             labels: indices.map { samples[$0].label },
                             targets: indices.map { samples[$0].target ?? 0 })
    }
}
