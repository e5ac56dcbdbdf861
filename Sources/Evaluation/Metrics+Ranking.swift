/// The receiver operating characteristic of a scoring, one point per distinct log-likelihood, as
/// scikit-learn's `roc_curve(y_generated, -log_likelihood, drop_intermediate=False)`.
///
/// Point 0 is `(0, 0)` (nothing flagged); point `i ≥ 1` flags every sample whose log-likelihood is
/// ≤ ``logLikelihoodCutoffs``[i], the `i`-th distinct value in ascending order — tied samples are
/// flagged together, so ties make diagonal segments. The last point is `(1, 1)`.
public struct ROCCurve: Codable, Equatable, Sendable {
    /// The fraction of real photos flagged at each point, non-decreasing, from 0 to 1.
    public let falsePositiveRates: [Double]
    /// The fraction of generated images flagged at each point, non-decreasing, from 0 to 1.
    public let truePositiveRates: [Double]
    /// Point `i` flags the samples with log-likelihood ≤ `logLikelihoodCutoffs[i]` (−∞ for point 0).
    public let logLikelihoodCutoffs: [Double]
    /// The cumulative counts behind each point: real photos flagged.
    public let falsePositiveCounts: [Int]
    /// The cumulative counts behind each point: generated images flagged.
    public let truePositiveCounts: [Int]

    /// Computes the curve.
    ///
    /// - Parameters:
    ///   - logLikelihoods: One score per sample (higher = more real).
    ///   - labels: The true class of each sample.
    /// - Precondition: as many labels as scores, no NaN, and both classes present.
    public init(logLikelihoods: [Double], labels: [SampleClass]) {
        Metrics.validate(logLikelihoods, labels, "ROCCurve")
        let counts = ROCCurve.cumulativeCounts(logLikelihoods, labels)
        let generated = counts.truePositives.last ?? 0, real = counts.falsePositives.last ?? 0
        precondition(generated > 0 && real > 0,
                     "ROCCurve: needs both classes, got \(real) real and \(generated) generated samples")
        falsePositiveCounts = [0] + counts.falsePositives
        truePositiveCounts = [0] + counts.truePositives
        logLikelihoodCutoffs = [-.infinity] + counts.cutoffs
        falsePositiveRates = falsePositiveCounts.map { Double($0) / Double(real) }
        truePositiveRates = truePositiveCounts.map { Double($0) / Double(generated) }
    }

    /// For each distinct log-likelihood `v` in ascending order: how many real and generated samples
    /// have a log-likelihood ≤ `v` (scikit-learn's `_binary_clf_curve` on the negated scores).
    static func cumulativeCounts(_ logLikelihoods: [Double], _ labels: [SampleClass])
        -> (cutoffs: [Double], falsePositives: [Int], truePositives: [Int]) {
        let order = logLikelihoods.indices.sorted { logLikelihoods[$0] < logLikelihoods[$1] }
        var cutoffs: [Double] = [], falsePositives: [Int] = [], truePositives: [Int] = []
        var fp = 0, tp = 0
        for (position, index) in order.enumerated() {
            if labels[index] == .generated { tp += 1 } else { fp += 1 }
            let isLastOfTie = position + 1 == order.count || logLikelihoods[order[position + 1]] != logLikelihoods[index]
            if isLastOfTie {
                cutoffs.append(logLikelihoods[index])
                falsePositives.append(fp)
                truePositives.append(tp)
            }
        }
        return (cutoffs, falsePositives, truePositives)
    }

    /// The area under the curve by the trapezoid rule over its points — scikit-learn's
    /// `roc_auc_score`: the probability that a random generated image scores a lower
    /// log-likelihood than a random real photo, ties counting one half.
    public var area: Double {
        var area = 0.0
        for i in 1..<falsePositiveRates.count {
            area += (falsePositiveRates[i] - falsePositiveRates[i - 1]) * (truePositiveRates[i] + truePositiveRates[i - 1]) / 2
        }
        return area
    }

    /// The fraction of generated images flagged by the best threshold that flags at most a
    /// fraction `falsePositiveRate` of the real photos: the highest TPR among the curve's points
    /// with FPR ≤ `falsePositiveRate`.
    ///
    /// No interpolation between points: every reported value is attained by a real threshold on
    /// these samples (`tpr[fpr <= rate].max()` on scikit-learn's `roc_curve` with
    /// `drop_intermediate=False`). With `N` real photos, rates below `1/N` mean "no real photo
    /// flagged".
    ///
    /// - Precondition: `0 ≤ falsePositiveRate ≤ 1`.
    public func truePositiveRate(atFalsePositiveRate falsePositiveRate: Double) -> Double {
        precondition(falsePositiveRate >= 0 && falsePositiveRate <= 1,
                     "ROCCurve.truePositiveRate(atFalsePositiveRate:): rate \(falsePositiveRate) outside [0, 1]")
        var best = 0.0
        for (fpr, tpr) in zip(falsePositiveRates, truePositiveRates) where fpr <= falsePositiveRate { best = max(best, tpr) }
        return best
    }
}

extension Metrics {
    /// The area under the ROC curve with "generated" as the positive class; see ``ROCCurve/area``.
    ///
    /// - Precondition: as many labels as scores, no NaN, and both classes present.
    public static func areaUnderCurve(logLikelihoods: [Double], labels: [SampleClass]) -> Double {
        ROCCurve(logLikelihoods: logLikelihoods, labels: labels).area
    }

    /// The AUC by comparing every generated image with every real photo (`O(N·M)`), ties counting
    /// one half: the definition ``areaUnderCurve(logLikelihoods:labels:)`` is checked against.
    public static func referenceAreaUnderCurve(logLikelihoods: [Double], labels: [SampleClass]) -> Double {
        let generated = zip(logLikelihoods, labels).filter { $1 == .generated }.map(\.0)
        let real = zip(logLikelihoods, labels).filter { $1 == .real }.map(\.0)
        var wins = 0.0
        for g in generated {
            for r in real { wins += g < r ? 1 : (g == r ? 0.5 : 0) }
        }
        return wins / Double(generated.count * real.count)
    }

    /// Average precision with "generated" as the positive class, as scikit-learn's
    /// `average_precision_score(y_generated, -log_likelihood)`:
    /// `AP = Σₙ (Rₙ − Rₙ₋₁) Pₙ` over the distinct log-likelihoods in ascending order, where `Pₙ`
    /// and `Rₙ` are the precision and recall of flagging every sample ≤ the `n`-th value, and
    /// `R₀ = 0`. A step-wise sum (no interpolation between points); tied samples enter together.
    ///
    /// Unlike the AUC, AP depends on the class balance: with `G` generated and `N` real samples a
    /// random scoring has AP ≈ `G / (G + N)`.
    ///
    /// - Precondition: as many labels as scores, no NaN, at least one generated sample.
    public static func averagePrecision(logLikelihoods: [Double], labels: [SampleClass]) -> Double {
        validate(logLikelihoods, labels, "Metrics.averagePrecision")
        let counts = ROCCurve.cumulativeCounts(logLikelihoods, labels)
        let positives = counts.truePositives.last ?? 0
        precondition(positives > 0, "Metrics.averagePrecision: no generated samples")
        var precisionSum = 0.0
        var previousRecall = 0.0
        for (fp, tp) in zip(counts.falsePositives, counts.truePositives) {
            let recall = Double(tp) / Double(positives)
            precisionSum += (recall - previousRecall) * Double(tp) / Double(tp + fp)
            previousRecall = recall
        }
        return precisionSum
    }
}
