// swift-tools-version: 6.1
// Grain — detecting AI-generated images as anomalies against the low-level statistics of real photographs.
// The module graph follows ../shared/DESIGN.md §2: a layer imports only layers below it.
import PackageDescription

let package = Package(
    name: "Grain",
    products: [
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .library(name: "Pretext", targets: ["Pretext"]),
        .library(name: "OneClass", targets: ["OneClass"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .executable(name: "grain", targets: ["grain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        // Documentation only: `swift package generate-documentation` (adds no code to the products).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CLAPACKE",
            pkgConfig: "lapacke",
            providers: [.apt(["liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CJPEG",
            pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        // libjpeg and libpng report errors by longjmp, which Swift cannot call: this small C target
        // wraps each codec call in setjmp and returns a status code and a message instead.
        .target(name: "CImageCodecs", dependencies: ["CJPEG", "CPNG"]),
        // GELU and softmax kernels compiled for AVX2+FMA and AVX-512 through function target
        // attributes (no global flags), picked at run time; Tensor's Swift SIMD code is the fallback.
        .target(name: "CKernels"),
        .target(name: "Tensor", dependencies: ["COpenBLAS", "CLAPACKE", "CKernels"]),
        .target(name: "Imaging", dependencies: ["Tensor", "CImageCodecs", "CJPEG", "CPNG"]),
        .target(name: "NN", dependencies: ["Tensor"]),
        .target(name: "Diffusion", dependencies: ["NN", "Imaging", "Tensor"]),
        .target(name: "Pretext", dependencies: ["Diffusion", "NN", "Imaging", "Tensor"]),
        // Detecting needs no training or diffusion code: OneClass sits on NN and Imaging only.
        .target(name: "OneClass", dependencies: ["NN", "Imaging", "Tensor"]),
        // Metrics, figures, reports and perturbations for evaluating a detector.
        .target(name: "Evaluation", dependencies: ["OneClass", "Imaging", "Tensor"]),
        .executableTarget(
            name: "grain",
            dependencies: [
                "Tensor", "Imaging", "NN", "Diffusion", "Pretext", "OneClass", "Evaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "GrainTestSupport", dependencies: ["Tensor"], path: "Tests/Support"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "GrainTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Imaging", "Tensor", "GrainTestSupport"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Tensor"], exclude: ["Fixtures"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "NN", "Tensor", "GrainTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PretextTests", dependencies: ["Pretext", "Diffusion", "NN", "Imaging", "Tensor", "GrainTestSupport"]),
        .testTarget(name: "OneClassTests", dependencies: ["OneClass", "NN", "Imaging", "Tensor", "GrainTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "OneClass", "Imaging", "Tensor"],
                    exclude: ["Fixtures"]),
        // Runs the built `grain` executable (skipped when it has not been built).
        .testTarget(name: "GrainCLITests", dependencies: ["NN", "Imaging", "Tensor", "GrainTestSupport"]),
        .testTarget(name: "StableDiffusionTests", dependencies: ["NN", "Tensor", "GrainTestSupport"], exclude: ["Fixtures"]),
    ]
)
