import Tensor

/// A linear head on the 528-d feature, dropped after training: the pretext task's classifier
/// (Pretext's 11 classes: original, VAE reconstruction, 9 restoration levels), its
/// mean-absolute-error regressor, or the binary real/generated classifier of fine-tuning.
///
/// Shapes: `[B, 528] → [B, outputs]`. Checkpoint keys: `head.weight`, `head.bias`.
public final class FeatureHead: Module, Layer, @unchecked Sendable {
    /// The kinds of head.
    public enum Kind: Sendable, Codable, Equatable {
        /// One logit per pretext class (Pretext passes `PretextClass.count`, 11: class 0 original,
        /// 1 VAE reconstruction, 2…10 restoration levels 1…9).
        case pretextClassification(classes: Int)
        /// One value: the mean absolute pixel error against the original.
        case errorRegression
        /// 2 logits: real, generated.
        case realOrGenerated

        /// The number of outputs.
        public var outputs: Int {
            switch self {
            case .pretextClassification(let classes): classes
            case .errorRegression: 1
            case .realOrGenerated: 2
            }
        }
    }

    /// What the head predicts.
    public let kind: Kind
    /// The projection.
    public let head: Linear

    /// Creates a head initialised as PyTorch's `nn.Linear`, from `generator`.
    public init<G: RandomNumberGenerator>(_ kind: Kind, inputSize: Int = LowLevelFeatureExtractor.featureDimension,
                                          using generator: inout G) {
        self.kind = kind
        head = Linear(inputSize: inputSize, outputSize: kind.outputs, using: &generator)
        super.init()
    }

    /// `head`.
    public override var children: [(String, Module)] { [("head", head)] }

    /// The head's outputs for `features` `[B, inputSize]`.
    public func callAsFunction(_ features: Tensor) -> Tensor { head(features) }
}
