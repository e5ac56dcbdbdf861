// Detection metrics on log-likelihoods. Conventions, throughout the Metrics files:
//
// - The score of a sample is its log-likelihood under the real-photo model: higher = more real.
// - The positive class is "generated" (scikit-learn's `pos_label` is the AI-generated image), so
//   a true positive is a generated image flagged as generated, a false positive a real photo
//   flagged as generated; the decision statistic that scikit-learn sees is the negated
//   log-likelihood (`roc_auc_score(y_generated, -log_likelihood)`).
// - At a threshold `t`, a sample is judged generated when its log-likelihood is strictly below `t`
//   and real when it is ≥ `t` (as `LikelihoodThreshold` and `CalibratedThreshold`).

/// Which source a scored sample comes from.
public enum SampleClass: String, Codable, Sendable, CaseIterable {
    /// A real photograph (the negative class).
    case real
    /// An AI-generated image (the positive class).
    case generated
}

/// The four counts of a binary decision with "generated" as the positive class, as scikit-learn's
/// `confusion_matrix(y_generated, y_pred_generated).ravel()` → `tn, fp, fn, tp`.
public struct ConfusionCounts: Codable, Equatable, Sendable {
    /// Generated images judged generated.
    public var truePositives: Int
    /// Real photos judged generated.
    public var falsePositives: Int
    /// Real photos judged real.
    public var trueNegatives: Int
    /// Generated images judged real.
    public var falseNegatives: Int

    /// Creates the counts directly.
    public init(truePositives: Int, falsePositives: Int, trueNegatives: Int, falseNegatives: Int) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.trueNegatives = trueNegatives
        self.falseNegatives = falseNegatives
    }

    /// Counts the decisions of the rule "generated when log-likelihood < `threshold`".
    ///
    /// - Parameters:
    ///   - logLikelihoods: One score per sample (higher = more real).
    ///   - labels: The true class of each sample.
    ///   - threshold: The decision threshold on the log-likelihood.
    /// - Precondition: as many labels as scores; no score is NaN.
    public init(logLikelihoods: [Double], labels: [SampleClass], threshold: Double) {
        Metrics.validate(logLikelihoods, labels, "ConfusionCounts")
        var counts = ConfusionCounts(truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0)
        for (score, label) in zip(logLikelihoods, labels) {
            let judgedGenerated = score < threshold
            switch (label, judgedGenerated) {
            case (.generated, true): counts.truePositives += 1
            case (.generated, false): counts.falseNegatives += 1
            case (.real, true): counts.falsePositives += 1
            case (.real, false): counts.trueNegatives += 1
            }
        }
        self = counts
    }

    /// All samples counted.
    public var total: Int { truePositives + falsePositives + trueNegatives + falseNegatives }
    /// The generated images counted (positives).
    public var generatedCount: Int { truePositives + falseNegatives }
    /// The real photos counted (negatives).
    public var realCount: Int { trueNegatives + falsePositives }

    /// The fraction of correct decisions, `(TP + TN) / N` (scikit-learn's `accuracy_score`); NaN
    /// with no samples.
    public var accuracy: Double { Double(truePositives + trueNegatives) / Double(total) }

    /// The fraction of generated images flagged, `TP / (TP + FN)` (recall, sensitivity); NaN
    /// without generated images.
    public var truePositiveRate: Double { Double(truePositives) / Double(generatedCount) }

    /// The fraction of real photos flagged, `FP / (FP + TN)`; NaN without real photos.
    public var falsePositiveRate: Double { Double(falsePositives) / Double(realCount) }

    /// The fraction of real photos passed, `TN / (TN + FP)` (specificity); NaN without real photos.
    public var trueNegativeRate: Double { Double(trueNegatives) / Double(realCount) }

    /// The mean of the per-class accuracies, `(TPR + TNR) / 2` (scikit-learn's
    /// `balanced_accuracy_score`): accuracy on a set reweighted to equal class sizes. When only one
    /// class is present it is that class's accuracy (scikit-learn warns and does the same).
    public var balancedAccuracy: Double {
        switch (generatedCount > 0, realCount > 0) {
        case (true, true): return (truePositiveRate + trueNegativeRate) / 2
        case (true, false): return truePositiveRate
        case (false, true): return trueNegativeRate
        case (false, false): return .nan
        }
    }
}

/// Threshold-free metrics of a scoring (ROC curve, AUC, average precision, TPR at a fixed FPR).
/// See the conventions at the top of Metrics.swift: the positive class is "generated" and lower
/// log-likelihoods rank as more generated.
public enum Metrics {
    /// Checks the shared preconditions of every metric.
    static func validate(_ logLikelihoods: [Double], _ labels: [SampleClass], _ name: String) {
        precondition(logLikelihoods.count == labels.count,
                     "\(name): \(logLikelihoods.count) log-likelihoods for \(labels.count) labels")
        precondition(!logLikelihoods.contains(where: \.isNaN), "\(name): a log-likelihood is NaN")
    }
}
