import Foundation
import Tensor

// Starting points for EM, as scikit-learn's `_initialize_parameters`: responsibilities from
// k-means labels, k-means++ centres, random values or random samples, turned into parameters by
// one M-step — or parameters given outright.

extension GaussianMixture {
    /// The parameters EM starts from, drawn with `generator` for the random initialisations.
    static func initialParameters(_ x: Matrix, _ configuration: Configuration,
                                  using generator: inout some RandomNumberGenerator) throws(GaussianMixtureError) -> Parameters {
        let n = x.rows, k = configuration.componentCount
        var responsibilities = Matrix(rows: n, columns: k)
        switch configuration.initialization {
        case .kMeans:
            for (sample, label) in kMeansLabels(x, clusterCount: k, using: &generator).enumerated() {
                responsibilities[sample, label] = 1
            }
        case .kMeansPlusPlus:
            for (component, sample) in kMeansPlusPlusIndices(x, count: k, using: &generator).enumerated() {
                responsibilities[sample, component] = 1
            }
        case .random:
            for i in 0..<n {
                var total = 0.0
                for j in 0..<k {
                    let value = generator.nextUnitDouble()
                    responsibilities[i, j] = value
                    total += value
                }
                for j in 0..<k { responsibilities[i, j] /= total }
            }
        case .randomFromData:
            for (component, sample) in sampleWithoutReplacement(count: k, from: n, using: &generator).enumerated() {
                responsibilities[sample, component] = 1
            }
        case let .responsibilities(given):
            guard given.rows == n, given.columns == k else {
                throw .invalidInitialization("responsibilities are \(given.rows)×\(given.columns), expected \(n)×\(k) (samples × components)")
            }
            if let bad = given.elements.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
                throw .invalidInitialization("responsibility of sample \(bad / k), component \(bad % k) is \(given.elements[bad]), expected a finite value ≥ 0")
            }
            responsibilities = given
        case let .given(weights, means, precisions):
            return try validatedParameters(weights: weights, means: means, precisions: precisions,
                                           featureCount: x.columns, configuration)
        }
        let (counts, means, covariances) = estimateParameters(x, responsibilities: responsibilities,
                                                               regularization: configuration.regularization,
                                                               covarianceType: configuration.covarianceType)
        // As scikit-learn, the initial weights are Nₖ/n, not renormalised (k-means++ and
        // random-from-data start with weights ≈ 1/n each; the responsibilities normalise them away).
        return Parameters(weights: counts.map { $0 / Double(n) }, means: means, covariances: covariances,
                          precisionsCholesky: try precisionCholesky(of: covariances, regularization: configuration.regularization))
    }

    /// Checks given initial parameters as scikit-learn's `_check_weights`, `_check_means` and
    /// `_check_precisions`, and factors the precisions.
    static func validatedParameters(weights: [Double], means: Matrix, precisions: CovarianceParameters, featureCount d: Int,
                                    _ configuration: Configuration) throws(GaussianMixtureError) -> Parameters {
        let k = configuration.componentCount
        guard weights.count == k else { throw .invalidInitialization("\(weights.count) weights for \(k) components") }
        guard weights.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw .invalidInitialization("weights must lie in [0, 1], got \(weights)")
        }
        let total = weights.reduce(0, +)
        guard abs(1 - total) <= 1e-8 else { throw .invalidInitialization("weights must sum to 1, got \(total)") }
        guard means.rows == k, means.columns == d else {
            throw .invalidInitialization("means are \(means.rows)×\(means.columns), expected \(k)×\(d) (components × features)")
        }
        guard means.elements.allSatisfy(\.isFinite) else { throw .invalidInitialization("means hold a NaN or infinite value") }
        guard precisions.covarianceType == configuration.covarianceType else {
            throw .invalidInitialization("precisions are \(precisions.covarianceType), the configuration asks for \(configuration.covarianceType)")
        }

        func factor(_ precision: Matrix, _ name: String) throws(GaussianMixtureError) -> Matrix {
            guard precision.rows == d, precision.columns == d else {
                throw .invalidInitialization("\(name) is \(precision.rows)×\(precision.columns), expected \(d)×\(d)")
            }
            for i in 0..<d {
                for j in 0..<i where !(abs(precision[i, j] - precision[j, i]) <= 1e-8 + 1e-5 * abs(precision[j, i])) {
                    throw .invalidInitialization("\(name) is not symmetric (elements [\(i), \(j)] and [\(j), \(i)] differ)")
                }
            }
            do {
                return try upperCholesky(ofPrecision: precision)
            } catch {
                throw .invalidInitialization("\(name) is not positive definite")
            }
        }
        let factors: CovarianceParameters
        switch precisions {
        case let .full(matrices):
            guard matrices.count == k else { throw .invalidInitialization("\(matrices.count) full precisions for \(k) components") }
            var result: [Matrix] = []
            for (component, precision) in matrices.enumerated() {
                result.append(try factor(precision, "the precision of component \(component)"))
            }
            factors = .full(result)
        case let .tied(precision):
            factors = .tied(try factor(precision, "the tied precision"))
        case let .diagonal(values):
            guard values.rows == k, values.columns == d else {
                throw .invalidInitialization("diagonal precisions are \(values.rows)×\(values.columns), expected \(k)×\(d)")
            }
            guard values.elements.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw .invalidInitialization("diagonal precisions must be positive and finite")
            }
            factors = .diagonal(Matrix(rows: k, columns: d, elements: values.elements.map { $0.squareRoot() }))
        case let .spherical(values):
            guard values.count == k else { throw .invalidInitialization("\(values.count) spherical precisions for \(k) components") }
            guard values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw .invalidInitialization("spherical precisions must be positive and finite")
            }
            factors = .spherical(values.map { $0.squareRoot() })
        }
        return Parameters(weights: weights, means: means, covariances: covariances(fromPrecisionCholesky: factors),
                          precisionsCholesky: factors)
    }

    // MARK: - k-means++ and k-means

    /// The sample indices of `count` greedy k-means++ centres, as scikit-learn's `kmeans_plusplus`:
    /// the first uniformly; each next one the best (lowest total squared distance to the nearest
    /// centre) of `2 + ⌊ln count⌋` candidates drawn with probability ∝ squared distance.
    static func kMeansPlusPlusIndices(_ x: Matrix, count: Int, using generator: inout some RandomNumberGenerator) -> [Int] {
        let n = x.rows
        let trials = 2 + Int(Foundation.log(Double(count)))
        let ones = [Double](repeating: 1, count: x.columns)
        var indices = [Int.random(in: 0..<n, using: &generator)]
        var closest = scaledSquaredDistances(x, centre: x.row(indices[0]), scale: ones)
        var potential = closest.reduce(0, +)
        while indices.count < count {
            var cumulative = closest
            for i in 1..<n { cumulative[i] += cumulative[i - 1] }
            let targets = (0..<trials).map { _ in generator.nextUnitDouble() * potential }
            var best: (index: Int, potential: Double, distances: [Double])?
            for target in targets {
                // numpy.searchsorted (side "left"): the first index whose cumulative sum is ≥ target.
                var low = 0, high = n
                while low < high {
                    let middle = (low + high) / 2
                    if cumulative[middle] < target { low = middle + 1 } else { high = middle }
                }
                let candidate = min(low, n - 1)
                var distances = scaledSquaredDistances(x, centre: x.row(candidate), scale: ones)
                for i in 0..<n { distances[i] = min(distances[i], closest[i]) }
                let candidatePotential = distances.reduce(0, +)
                if best == nil || candidatePotential < best!.potential {
                    best = (candidate, candidatePotential, distances)
                }
            }
            indices.append(best!.index)
            potential = best!.potential
            closest = best!.distances
        }
        return indices
    }

    /// The labels `[n]` of one k-means run (scikit-learn's `KMeans(n_clusters, n_init=1).fit(x)`):
    /// k-means++ seeding, then Lloyd iterations until the labels stop changing or the centres
    /// move by at most 1e-4 × the mean feature variance (squared, summed), at most 300 times;
    /// an emptied cluster is moved to the sample farthest from its centre.
    static func kMeansLabels(_ x: Matrix, clusterCount k: Int, using generator: inout some RandomNumberGenerator) -> [Int] {
        let n = x.rows, d = x.columns
        let columnMeans = (0..<d).map { j in (0..<n).reduce(0.0) { $0 + x[$1, j] } / Double(n) }
        let meanVariance = (0..<d).reduce(0.0) { sum, j in
            sum + (0..<n).reduce(0.0) { $0 + (x[$1, j] - columnMeans[j]) * (x[$1, j] - columnMeans[j]) } / Double(n)
        } / Double(d)
        let tolerance = meanVariance * 1e-4

        var centres = Matrix(rows: k, columns: d)
        for (cluster, sample) in kMeansPlusPlusIndices(x, count: k, using: &generator).enumerated() {
            for j in 0..<d { centres[cluster, j] = x[sample, j] }
        }
        var previousLabels = [Int](repeating: -1, count: n)
        var labels = previousLabels
        var strictConvergence = false
        for _ in 0..<300 {
            let (assigned, distances) = nearestCentres(x, centres)
            labels = assigned
            var sums = Matrix(rows: k, columns: d)
            var sizes = [Double](repeating: 0, count: k)
            for i in 0..<n {
                sizes[labels[i]] += 1
                for j in 0..<d { sums[labels[i], j] += x[i, j] }
            }
            let empty = (0..<k).filter { sizes[$0] == 0 }
            if !empty.isEmpty {
                let farthest = (0..<n).sorted { distances[$0] > distances[$1] }.prefix(empty.count)
                for (cluster, sample) in zip(empty, farthest) {
                    let old = labels[sample]
                    for j in 0..<d {
                        sums[old, j] -= x[sample, j]
                        sums[cluster, j] = x[sample, j]
                    }
                    sizes[old] -= 1
                    sizes[cluster] = 1
                }
            }
            var shift = 0.0
            for cluster in 0..<k where sizes[cluster] > 0 {
                for j in 0..<d {
                    let updated = sums[cluster, j] / sizes[cluster]
                    shift += (updated - centres[cluster, j]) * (updated - centres[cluster, j])
                    centres[cluster, j] = updated
                }
            }
            if labels == previousLabels {
                strictConvergence = true
                break
            }
            if shift <= tolerance { break }
            previousLabels = labels
        }
        if !strictConvergence { labels = nearestCentres(x, centres).labels }
        return labels
    }

    /// The nearest centre of each sample (ties to the lower index) and its squared distance.
    static func nearestCentres(_ x: Matrix, _ centres: Matrix) -> (labels: [Int], distances: [Double]) {
        let ones = [Double](repeating: 1, count: x.columns)
        var labels = [Int](repeating: 0, count: x.rows)
        var distances = scaledSquaredDistances(x, centre: centres.row(0), scale: ones)
        for cluster in 1..<max(centres.rows, 1) {
            let candidate = scaledSquaredDistances(x, centre: centres.row(cluster), scale: ones)
            for i in 0..<x.rows where candidate[i] < distances[i] {
                distances[i] = candidate[i]
                labels[i] = cluster
            }
        }
        return (labels, distances)
    }

    /// `count` distinct indices in `0..<population`, uniformly (a partial Fisher–Yates shuffle).
    static func sampleWithoutReplacement(count: Int, from population: Int,
                                         using generator: inout some RandomNumberGenerator) -> [Int] {
        var pool = Array(0..<population)
        for j in 0..<count { pool.swapAt(j, Int.random(in: j..<population, using: &generator)) }
        return Array(pool.prefix(count))
    }
}
