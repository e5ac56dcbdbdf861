import Foundation
import Testing
import Tensor

/// Asserts that `actual` and `expected` have the same shape and agree element-wise within
/// `atol + rtol·|expected|`; prints the largest absolute and relative differences.
public func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6,
                 _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, "\(label): shape \(actual.shape) vs expected \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let (maxAbs, maxRel, ok) = closeness(actual.scalars, expected.scalars, rtol: rtol, atol: atol)
    let scale = expected.scalars.reduce(Float(0)) { max($0, abs($1)) }
    print("[parity] \(label): max abs \(maxAbs), max rel \(maxRel), max abs / max |expected| \(scale > 0 ? maxAbs / scale : 0)")
    #expect(ok, "\(label): max abs diff \(maxAbs), max rel diff \(maxRel) (rtol \(rtol), atol \(atol))", sourceLocation: sourceLocation)
}

/// Element-wise closeness of two arrays: the largest absolute and relative differences and
/// whether every element is within `atol + rtol·|expected|` (NaN never is).
public func closeness(_ a: [Float], _ b: [Float], rtol: Float, atol: Float) -> (Float, Float, Bool) {
    var maxAbs: Float = 0, maxRel: Float = 0, ok = a.count == b.count
    for (x, y) in zip(a, b) {
        let d = abs(x - y)
        maxAbs = max(maxAbs, d)
        maxRel = max(maxRel, d / max(abs(y), 1e-12))
        if !(d <= atol + rtol * abs(y)) { ok = false }
    }
    return (maxAbs, maxRel, ok)
}

/// Runs a finite-difference gradient check and expects it to pass, printing the report.
public func expectGradients(_ label: String, _ inputs: [Tensor], epsilon: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3,
                     sourceLocation: SourceLocation = #_sourceLocation, _ function: ([Tensor]) -> Tensor) {
    let report = GradientCheck.check(inputs, epsilon: epsilon, rtol: rtol, atol: atol, function)
    print("[gradient] \(label): \(report)")
    #expect(report.passed, "\(label): \(report)", sourceLocation: sourceLocation)
}

/// A reproducible random tensor for tests.
public func randomTensor(_ shape: [Int], seed: UInt64 = 1, lower: Float = -1, upper: Float = 1) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    return Tensor.randomUniform(shape, lower: lower, upper: upper, using: &generator)
}

/// Locations of the data shared beside the repository (`../shared`), read by tests and skipped
/// when absent. Nothing from it is ever copied into the repository.
public enum SharedData {
    /// The `shared` folder next to the repository root.
    public static let root: String = {
        // Tests/Support/GrainTestSupport.swift → repository root → ../shared
        let file = "\(#filePath)"
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/../shared"
    }()

    /// The absolute path of `relative` inside `shared`.
    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// Whether `relative` exists inside `shared`.
    public static func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: path(relative))
    }
}

/// The directory of the calling test file, for its committed fixtures.
public func fixturesDirectory(_ file: String = #filePath) -> String {
    var parts = file.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast()
    return parts.joined(separator: "/") + "/Fixtures"
}

/// Rewrites the detector file at `url` with every mixture mean set to `value` (everything else,
/// metadata included, as it was): with `1e200` the squared distance of any feature overflows, so
/// every log-likelihood is −∞ — a degenerate detector made in a test (issue 17).
public func rewriteDetectorMeans(at url: URL, to value: Double) throws {
    let file = try SafeTensors(contentsOf: url)
    var entries: [(String, SafeTensors.Entry)] = []
    for key in file.keys {
        if try file.info(named: key).dtype == .float64 {
            let shape = try file.shape(named: key)
            var values = try file.doubles(named: key)
            if key.hasSuffix(".mixture.means") { values = values.map { _ in value } }
            entries.append((key, .float64(shape: shape, values: values)))
        } else {
            entries.append((key, .float32(try file.tensor(named: key))))
        }
    }
    try SafeTensors.write(entries: entries, metadata: file.metadata, to: url)
}
