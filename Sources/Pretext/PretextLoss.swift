import Tensor

/// The pretext objective: cross-entropy over the 11 classes plus λ times a regression loss on
/// the mean-absolute-error target (DESIGN.md §6; the paper sums them unweighted, λ = 1).
public struct PretextLoss: Sendable, Codable, Equatable {
    /// The regression loss on the MAE target.
    public enum Regression: String, Sendable, Codable {
        /// Mean absolute error (the default).
        case l1
        /// Mean squared error.
        case l2
    }

    /// The regression loss.
    public var regression: Regression
    /// λ, the weight of the regression term.
    public var regressionWeight: Float

    /// The paper's objective: L1, λ = 1.
    public init() {
        regression = .l1
        regressionWeight = 1
    }

    /// Creates the objective.
    ///
    /// - Throws: ``TrainingConfigurationError`` when λ is negative or not finite.
    public init(regression: Regression = .l1, regressionWeight: Float = 1) throws(TrainingConfigurationError) {
        self.regression = regression
        self.regressionWeight = regressionWeight
        try validate()
    }

    /// Decodes the objective and validates λ.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        regression = try c.decode(Regression.self, forKey: .regression)
        regressionWeight = try c.decode(Float.self, forKey: .regressionWeight)
        try validate()
    }

    private enum CodingKeys: String, CodingKey { case regression, regressionWeight }

    /// Throws when λ is negative or not finite.
    public func validate() throws(TrainingConfigurationError) {
        guard regressionWeight >= 0 && regressionWeight.isFinite else {
            throw .invalid(setting: "regressionWeight", value: "\(regressionWeight)", requirement: "finite and ≥ 0")
        }
    }

    /// The terms of one evaluation.
    public struct Terms {
        /// `crossEntropy + λ·regression`, differentiable.
        public var total: Tensor
        /// The mean cross-entropy.
        public var crossEntropy: Float
        /// The mean regression loss (before λ).
        public var regression: Float
    }

    /// Evaluates the objective.
    ///
    /// - Parameters:
    ///   - logits: `[B, 11]` class scores.
    ///   - predictions: `[B, 1]` (or `[B]`) predicted MAE.
    ///   - classes: the `B` true classes.
    ///   - targets: the `B` true MAE values (on the [0, 1] pixel scale).
    public func callAsFunction(logits: Tensor, predictions: Tensor, classes: [PretextClass], targets: [Float]) -> Terms {
        precondition(logits.shape == [classes.count, PretextClass.count],
                     "PretextLoss: logits \(logits.shape) for \(classes.count) samples and \(PretextClass.count) classes")
        precondition(predictions.count == targets.count && targets.count == classes.count,
                     "PretextLoss: \(predictions.count) predictions, \(targets.count) targets, \(classes.count) classes")
        let ce = Tensor.crossEntropy(logits: logits, targets: classes.map(\.rawValue))
        let predicted = predictions.reshaped([targets.count])
        let target = Tensor(targets)
        let reg = regression == .l1 ? Tensor.l1Loss(predicted, target) : Tensor.mseLoss(predicted, target)
        return Terms(total: ce + reg * regressionWeight, crossEntropy: ce.item, regression: reg.item)
    }
}
