import ArgumentParser
import Dispatch
import Foundation
import OneClass
import Tensor

/// `grain benchmark-gmm`: times Gaussian-mixture EM with a fixed number of iterations, from the
/// same starting point scikit-learn is given, for `Scripts/compare/gmm_speed.py`.
struct BenchmarkMixture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-gmm",
        abstract: "Time Gaussian-mixture EM (fixed iterations, full covariances; JSON on standard output).",
        discussion: """
            With --input, reads float64 tensors `x` [n, d], `weights` [k], `means` [k, d] and `precisions` \
            [k, d, d] from a safetensors file and runs EM from those parameters (scikit-learn's weights_init, \
            means_init, precisions_init), so both libraries do the same work. Without it, draws n × d \
            standard-normal samples and starts from k-means++. EM runs exactly --iterations iterations \
            (tolerance 0). Reports the best and median wall time of --repetitions fits, the time per \
            iteration as (T(iterations) − T(1)) / (iterations − 1) (initialisation excluded), and the \
            lower bound after each iteration of the last fit.
            """,
        shouldDisplay: false)

    @Option(help: "A safetensors file with x, weights, means and precisions (float64).") var input: String?
    @Option(help: "Samples (without --input).") var samples = 10_000
    @Option(help: "Features (without --input).") var dimensions = 528
    @Option(help: "Components (without --input).") var components = 6
    @Option(help: "EM iterations per fit.") var iterations = 10
    @Option(help: "Timed fits (best and median reported).") var repetitions = 3

    func run() throws {
        let (x, initialization, k) = try problem()
        func fit(_ count: Int) throws -> (seconds: Double, model: GaussianMixture) {
            var generator = RandomGenerator(seed: 0)
            let configuration = GaussianMixture.Configuration(componentCount: k, covarianceType: .full, tolerance: 0,
                                                              maxIterations: count, initialization: initialization)
            let start = DispatchTime.now().uptimeNanoseconds
            let model = try GaussianMixture(fitting: x, configuration: configuration, using: &generator)
            return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, model)
        }
        var full: [Double] = [], single: [Double] = []
        var last: GaussianMixture?
        for _ in 0..<repetitions {
            let run = try fit(iterations)
            full.append(run.seconds)
            last = run.model
            if iterations > 1 { single.append(try fit(1).seconds) }
        }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
        }
        let perIteration = iterations > 1 ? (median(full) - median(single)) / Double(iterations - 1) : median(full)
        let summary: [String: Any] = [
            "samples": x.rows, "dimensions": x.columns, "components": k, "iterations": iterations,
            "seconds_best": full.min() ?? .nan, "seconds_median": median(full), "seconds_all": full,
            "seconds_one_iteration_median": median(single), "seconds_per_iteration": perIteration,
            "lower_bounds": last?.lowerBoundHistory ?? [],
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
    }

    /// The samples, the initialisation and the component count.
    private func problem() throws -> (Matrix, GaussianMixture.Initialization, Int) {
        guard let input else {
            var generator = RandomGenerator(seed: 0)
            let x = Matrix(Tensor.randomNormal([samples, dimensions], using: &generator))
            return (x, .kMeansPlusPlus, components)
        }
        let file = try SafeTensors(contentsOf: URL(fileURLWithPath: input))
        let shape = try file.shape(named: "x")
        guard shape.count == 2 else { throw ValidationError("\(input): x has shape \(shape), expected [n, d]") }
        let (n, d) = (shape[0], shape[1])
        let weights = try file.doubles(named: "weights")
        let k = weights.count
        let precisions = try file.doubles(named: "precisions")
        guard precisions.count == k * d * d else { throw ValidationError("\(input): precisions hold \(precisions.count) values, expected \(k)×\(d)×\(d)") }
        let matrices = (0..<k).map { Matrix(rows: d, columns: d, elements: Array(precisions[(k == 0 ? 0 : $0 * d * d)..<(($0 + 1) * d * d)])) }
        let x = Matrix(rows: n, columns: d, elements: try file.doubles(named: "x"))
        let means = Matrix(rows: k, columns: d, elements: try file.doubles(named: "means"))
        return (x, .given(weights: weights, means: means, precisions: .full(matrices)), k)
    }
}
