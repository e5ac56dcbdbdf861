import Foundation
import Tensor

/// The choice of a Gaussian mixture by photo-grouped cross-validation of held-out log-likelihood.
///
/// Crops of one photo are correlated, so a cross-validation that split crops at random would
/// reward mixtures that memorise photos. Here every fold holds out whole photos (the groups):
///
/// 1. The distinct groups are shuffled (seeded) and dealt round-robin into ``folds`` folds, so
///    fold sizes differ by at most one photo.
/// 2. For each candidate of the ``Grid`` and each fold, a mixture is fitted on the samples of the
///    other folds and scored on the held-out ones: the fold's score is the mean held-out
///    log-likelihood per sample (scikit-learn's `score`, a proper scoring rule for densities).
/// 3. A candidate's row is the mean of its fold scores and their standard error
///    (`s / √folds`). A candidate that fails in any fold (a covariance not positive definite,
///    more components than samples) is kept in the table with its failure and never chosen.
/// 4. **The one-standard-error rule** (Hastie, Tibshirani & Friedman, *The Elements of
///    Statistical Learning*, §7.10): among the candidates whose mean is at least the best mean
///    minus the best's standard error, the one with the fewest free parameters
///    (``GaussianMixture/parameterCount``) is chosen; ties go to the larger regularisation, then
///    to the earlier grid entry. With 528-d features and a few thousand crops, models within
///    one standard error of each other cannot be told apart, and the simpler one generalises
///    to new photos more safely.
///
/// The table is kept in the detector's provenance (``Detector/FitSummary/mixtureSelections``).
public struct MixtureSelection: Codable, Equatable, Sendable {
    /// One mixture setting to compare.
    public struct Candidate: Codable, Hashable, Sendable, CustomStringConvertible {
        /// The number of components `k`.
        public var componentCount: Int
        /// The covariance parameterisation.
        public var covarianceType: GaussianMixture.CovarianceType
        /// Added to every covariance's diagonal.
        public var regularization: Double

        /// Creates a candidate.
        public init(componentCount: Int, covarianceType: GaussianMixture.CovarianceType, regularization: Double) {
            self.componentCount = componentCount
            self.covarianceType = covarianceType
            self.regularization = regularization
        }

        /// `k × type, regularization r`, e.g. `1 × full, reg 1e-03`.
        public var description: String {
            "\(componentCount) × \(covarianceType.rawValue), reg \(String(format: "%.0e", regularization))"
        }

        /// The mixture configuration of this candidate on top of `base` (tolerance, iterations,
        /// initialisation).
        public func configuration(base: GaussianMixture.Configuration) -> GaussianMixture.Configuration {
            var configuration = base
            configuration.componentCount = componentCount
            configuration.covarianceType = covarianceType
            configuration.regularization = regularization
            return configuration
        }

        /// The number of free parameters in `featureCount` dimensions (as
        /// ``GaussianMixture/parameterCount``).
        public func parameterCount(featureCount d: Int) -> Int {
            GaussianMixture.parameterCount(componentCount: componentCount, covarianceType: covarianceType, featureCount: d)
        }
    }

    /// The candidates to compare, in order.
    public struct Grid: Codable, Equatable, Sendable {
        /// The candidates; at least one, no duplicates.
        public var candidates: [Candidate]

        /// Creates a grid; see ``validate()``.
        public init(candidates: [Candidate]) {
            self.candidates = candidates
        }

        /// Every combination of the given values, components varying fastest.
        public init(componentCounts: [Int], covarianceTypes: [GaussianMixture.CovarianceType], regularizations: [Double]) {
            var candidates: [Candidate] = []
            for type in covarianceTypes {
                for regularization in regularizations {
                    for k in componentCounts {
                        candidates.append(Candidate(componentCount: k, covarianceType: type, regularization: regularization))
                    }
                }
            }
            self.candidates = candidates
        }

        /// The default grid: full covariances with 1, 2 and 4 components at regularisation
        /// 1e-4, 1e-3 and 1e-2, and diagonal ones with 1 and 4 components at 1e-3 (11
        /// candidates). Chosen from the development-set measurement in Documentation/Results.md
        /// ("Choosing the mixture"): full covariances with shrinkage 1e-3 won there, diagonal
        /// and spherical ones were far behind; the grid keeps a few of the latter so that the
        /// table shows the difference on the user's own photos.
        public static let standard = Grid(componentCounts: [1, 2, 4], covarianceTypes: [.full],
                                          regularizations: [1e-4, 1e-3, 1e-2]).appending(
            Grid(componentCounts: [1, 4], covarianceTypes: [.diagonal], regularizations: [1e-3]))

        /// This grid followed by the candidates of `other`.
        public func appending(_ other: Grid) -> Grid { Grid(candidates: candidates + other.candidates) }

        /// Throws ``DetectorError/invalidConfiguration(_:)`` for an empty grid, a duplicate, a
        /// component count below 1 or a regularisation that is negative, not finite or above 1.
        public func validate() throws(DetectorError) {
            guard !candidates.isEmpty else { throw .invalidConfiguration("the mixture grid has no candidates") }
            guard Set(candidates).count == candidates.count else {
                throw .invalidConfiguration("the mixture grid lists a candidate twice")
            }
            for candidate in candidates {
                guard candidate.componentCount >= 1 else {
                    throw .invalidConfiguration("mixture grid: \(candidate.componentCount) components, expected ≥ 1")
                }
                guard candidate.regularization.isFinite, candidate.regularization >= 0, candidate.regularization <= 1 else {
                    throw .invalidConfiguration("mixture grid: regularization \(candidate.regularization), expected 0 ≤ r ≤ 1")
                }
            }
        }
    }

    /// One candidate's cross-validated score.
    public struct Row: Codable, Equatable, Sendable {
        /// The candidate.
        public var candidate: Candidate
        /// The mean held-out log-likelihood per sample in each fold (empty when it failed).
        public var foldScores: [Double]
        /// The mean of ``foldScores`` (nil when it failed).
        public var meanScore: Double?
        /// The standard error of ``meanScore``: the folds' sample standard deviation over √folds
        /// (nil when it failed).
        public var standardError: Double?
        /// Why the candidate could not be fitted in some fold, if it could not.
        public var failure: String?

        /// Whether every fold could be fitted and scored.
        public var succeeded: Bool { failure == nil }
    }

    /// The number of folds.
    public var folds: Int
    /// The number of groups (photos) and samples the folds were made of.
    public var groupCount: Int
    /// The number of samples.
    public var sampleCount: Int
    /// Every candidate's score, in grid order.
    public var rows: [Row]
    /// The chosen candidate.
    public var chosen: Candidate
    /// The rule that chose it, in words (stored with the table).
    public var rule: String

    /// The default number of folds.
    public static let defaultFolds = 5

    /// Scores every candidate of `grid` by photo-grouped cross-validation and chooses one by
    /// the one-standard-error rule (see the type's documentation).
    ///
    /// - Parameters:
    ///   - samples: the training features `[n, d]`, one per row.
    ///   - groups: the photo of each sample (any integers; equal values = one photo), `n` of them.
    ///   - grid: the candidates.
    ///   - folds: the number of folds, ≥ 2 and at most the number of distinct groups.
    ///   - base: the other mixture settings (tolerance, iterations, initialisation).
    ///   - seed: fixes the fold assignment and every fit's initialisation.
    ///   - progress: called after each fit with (completed, total).
    /// - Throws: ``DetectorError/invalidConfiguration(_:)`` for a bad grid or fold count,
    ///   ``DetectorError/notEnoughImages(_:)`` when there are fewer photos than folds, and
    ///   ``DetectorError/mixture(member:_:)`` (member 0) when no candidate could be fitted.
    public static func select(samples: Matrix, groups: [Int], grid: Grid = .standard, folds: Int = defaultFolds,
                              base: GaussianMixture.Configuration = GaussianMixture.Configuration(), seed: UInt64,
                              progress: ((Int, Int) -> Void)? = nil) throws(DetectorError) -> MixtureSelection {
        try grid.validate()
        guard groups.count == samples.rows else {
            throw .invalidConfiguration("\(groups.count) group labels for \(samples.rows) samples")
        }
        guard folds >= 2 else { throw .invalidConfiguration("cross-validation needs at least 2 folds, got \(folds)") }
        let assignment = foldAssignment(groups: groups, folds: folds, seed: seed)
        let distinct = Set(groups).count
        guard distinct >= folds else {
            throw .notEnoughImages("choosing the mixture by \(folds)-fold cross-validation needs at least \(folds) photos, got \(distinct); fix the mixture (--components K) or give more photos")
        }
        let split = (0..<folds).map { fold in
            (training: rowsSelected(samples, assignment.indices.filter { assignment[$0] != fold }),
             heldOut: rowsSelected(samples, assignment.indices.filter { assignment[$0] == fold }))
        }
        var rows: [Row] = []
        let total = grid.candidates.count * folds
        var completed = 0
        for (candidateIndex, candidate) in grid.candidates.enumerated() {
            var scores: [Double] = []
            var failure: String?
            for (fold, data) in split.enumerated() {
                defer { completed += 1; progress?(completed, total) }
                guard failure == nil else { continue }
                var generator = RandomGenerator(seed: seed, stream: FitStreams.selectionFit(candidate: candidateIndex, fold: fold, folds: folds))
                do {
                    let mixture = try GaussianMixture(fitting: data.training, configuration: candidate.configuration(base: base),
                                                      using: &generator)
                    let score = try mixture.score(data.heldOut)
                    if score.isFinite { scores.append(score) } else { failure = "fold \(fold): held-out log-likelihood \(score)" }
                } catch {
                    failure = "fold \(fold): \(error.description)"
                }
            }
            if let failure {
                rows.append(Row(candidate: candidate, foldScores: [], meanScore: nil, standardError: nil, failure: failure))
            } else {
                let mean = scores.reduce(0, +) / Double(scores.count)
                let variance = scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(scores.count - 1, 1))
                rows.append(Row(candidate: candidate, foldScores: scores, meanScore: mean,
                                standardError: (variance / Double(scores.count)).squareRoot(), failure: nil))
            }
        }
        guard let chosen = oneStandardErrorChoice(rows, featureCount: samples.columns) else {
            throw .mixture(member: 0, .invalidConfiguration("no candidate of the mixture grid could be fitted in every fold: "
                + rows.compactMap { $0.failure.map { "\($0)" } }.prefix(3).joined(separator: "; ")))
        }
        return MixtureSelection(folds: folds, groupCount: distinct, sampleCount: samples.rows, rows: rows, chosen: chosen,
                                rule: "photo-grouped \(folds)-fold cross-validation of the mean held-out log-likelihood; the candidate with the fewest parameters within one standard error of the best")
    }

    /// The fold of each sample: the distinct groups in ascending order, shuffled by a seeded
    /// Fisher–Yates, dealt round-robin.
    static func foldAssignment(groups: [Int], folds: Int, seed: UInt64) -> [Int] {
        var distinct = Array(Set(groups)).sorted()
        var generator = RandomGenerator(seed: seed, stream: FitStreams.foldAssignment)
        for i in stride(from: distinct.count - 1, to: 0, by: -1) {
            distinct.swapAt(i, min(Int(generator.nextUnitDouble() * Double(i + 1)), i))
        }
        var foldOfGroup: [Int: Int] = [:]
        for (position, group) in distinct.enumerated() { foldOfGroup[group] = position % folds }
        return groups.map { foldOfGroup[$0]! }
    }

    /// The one-standard-error choice among the rows that succeeded (nil when none did).
    static func oneStandardErrorChoice(_ rows: [Row], featureCount: Int) -> Candidate? {
        let succeeded = rows.enumerated().compactMap { index, row -> (offset: Int, row: Row, mean: Double, error: Double)? in
            guard let mean = row.meanScore, let error = row.standardError else { return nil }
            return (index, row, mean, error)
        }
        guard let best = succeeded.max(by: { $0.mean < $1.mean }) else { return nil }
        let bar = best.mean - best.error
        let eligible = succeeded.filter { $0.mean >= bar }
        return eligible.min { a, b in
            let pa = a.row.candidate.parameterCount(featureCount: featureCount)
            let pb = b.row.candidate.parameterCount(featureCount: featureCount)
            if pa != pb { return pa < pb }
            if a.row.candidate.regularization != b.row.candidate.regularization {
                return a.row.candidate.regularization > b.row.candidate.regularization
            }
            return a.offset < b.offset
        }?.row.candidate
    }

    /// The rows of `matrix` at `indices`, in order.
    static func rowsSelected(_ matrix: Matrix, _ indices: [Int]) -> Matrix {
        let columns = matrix.columns
        let source = matrix.elements
        var elements = [Double](repeating: 0, count: indices.count * columns)
        for (target, row) in indices.enumerated() {
            for column in 0..<columns { elements[target * columns + column] = source[row * columns + column] }
        }
        return Matrix(rows: indices.count, columns: columns, elements: elements)
    }

    /// The table as fixed-width text, one line per candidate, the chosen one marked with `*`.
    public var table: String {
        var lines = ["candidate                   held-out log-likelihood  (± s.e.)   folds"]
        for row in rows {
            let mark = row.candidate == chosen ? "*" : " "
            let name = row.candidate.description.padding(toLength: 26, withPad: " ", startingAt: 0)
            if let mean = row.meanScore, let error = row.standardError {
                lines.append("\(mark)\(name)  " + String(format: "%22.2f  (± %.2f)   %d", mean, error, row.foldScores.count))
            } else {
                lines.append("\(mark)\(name)  failed: \(row.failure ?? "?")")
            }
        }
        return lines.joined(separator: "\n")
    }
}
