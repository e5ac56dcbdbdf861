// swift-tools-version: 6.1
// libFuzzer targets for every parser Grain exposes to files from outside. A separate package (as
// Benchmarks/ is) so the library itself stays free of fuzzing code; it depends on Grain by path.
//
//   swift build -c release -Xswiftc -sanitize=fuzzer,address --package-path Fuzz
//   Scripts/fuzz/make_corpus.sh && Scripts/fuzz/run.sh 20000
//
// libFuzzer supplies `main`, so Swift must not emit one: each target's `LLVMFuzzerTestOneInput`
// lives in a library target (parsed as a library, no top-level code), and the executable that
// links it is a C target with no code at all. Only command-line flags select the sanitizers;
// there are no unsafeFlags here.
import PackageDescription

/// The parsers fuzzed, as (executable name, library target, Grain products used).
let parsers: [(name: String, target: String, products: [String])] = [
    ("fuzz-safetensors", "FuzzSafeTensors", ["Tensor"]),
    ("fuzz-pth", "FuzzPyTorchCheckpoint", ["Tensor"]),
    ("fuzz-jpeg", "FuzzJPEG", ["Imaging"]),  // both through FuzzImaging
    ("fuzz-png", "FuzzPNG", ["Imaging"]),
    ("fuzz-detector", "FuzzDetector", ["OneClass"]),
    ("fuzz-diffusers-config", "FuzzDiffusersConfiguration", ["NN"]),
    ("fuzz-pretext-manifest", "FuzzPretextManifest", ["Pretext"]),
]

let package = Package(
    name: "GrainFuzz",
    dependencies: [
        .package(name: "Grain", path: ".."),
    ],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        .target(name: "FuzzImaging", dependencies: [.product(name: "Imaging", package: "Grain")], path: "Sources/FuzzImaging"),
        // Writes the seed corpora (Scripts/fuzz/make_corpus.sh runs it).
        .target(
            name: "FuzzCorpus",
            dependencies: ["Tensor", "Imaging", "NN", "Pretext", "OneClass"].map { .product(name: $0, package: "Grain") },
            path: "Sources/FuzzCorpus"
        ),
        .executableTarget(name: "fuzz-corpus", dependencies: ["FuzzCorpus"], path: "Sources/fuzz-corpus"),
    ] + parsers.flatMap { parser -> [Target] in
        [
            .target(name: parser.target,
                    dependencies: ["FuzzSupport"] + (parser.products == ["Imaging"] ? ["FuzzImaging"] : []) + parser.products.map { .product(name: $0, package: "Grain") },
                    path: "Sources/\(parser.target)"),
            .executableTarget(name: parser.name, dependencies: [.target(name: parser.target)], path: "Sources/\(parser.name)"),
        ]
    }
)
