// swift-tools-version: 6.1
// Grain's kernel benchmarks (ordo-one/benchmark) and the side-by-side op timer used by
// Scripts/compare. A separate package so the library itself has no benchmark dependency.
//
//   swift package benchmark                      # every suite
//   swift package benchmark --filter "matmul.*"  # one family
//   swift run -c release grain-opbench           # JSON lines for Scripts/compare
import PackageDescription

/// One ordo-one/benchmark suite per op family, in `Benchmarks/<name>/<name>.swift`.
func benchmarkSuite(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            .product(name: "Benchmark", package: "benchmark"),
            .product(name: "Tensor", package: "Grain"),
            "BenchmarkSupport",
        ],
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let package = Package(
    name: "GrainBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "Grain", path: ".."),
    ],
    targets: [
        benchmarkSuite("Matmul"),
        benchmarkSuite("Convolution"),
        benchmarkSuite("Pooling"),
        benchmarkSuite("Elementwise"),
        benchmarkSuite("Activation"),
        benchmarkSuite("Normalization"),
        benchmarkSuite("Softmax"),
        benchmarkSuite("Attention"),
        .target(
            name: "BenchmarkSupport",
            dependencies: [.product(name: "Tensor", package: "Grain")],
            path: "Sources/BenchmarkSupport"
        ),
        .executableTarget(
            name: "grain-opbench",
            dependencies: [.product(name: "Tensor", package: "Grain"), "BenchmarkSupport"],
            path: "Sources/grain-opbench"
        ),
    ]
)
