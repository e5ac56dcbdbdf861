// swift-tools-version: 6.1
// The whole method at small scale on a CPU, in one run: real photos from Debian packages, a small
// latent diffusion model trained on them, the pretext dataset, the extractor trained from scratch,
// a Gaussian mixture with a calibrated threshold, and detection of held-out real photos against
// images the diffusion model generates. See README.md in this folder.
import PackageDescription

let package = Package(
    name: "TrainThenDetect",
    products: [
        .executable(name: "train-then-detect", targets: ["TrainThenDetect"]),
    ],
    dependencies: [
        // In your own package: .package(url: "https://…/Grain.git", from: "0.1.0")
        .package(name: "Grain", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "TrainThenDetect",
            dependencies: [
                .product(name: "Tensor", package: "Grain"),
                .product(name: "Imaging", package: "Grain"),
                .product(name: "NN", package: "Grain"),
                .product(name: "Diffusion", package: "Grain"),
                .product(name: "Pretext", package: "Grain"),
                .product(name: "OneClass", package: "Grain"),
                .product(name: "Evaluation", package: "Grain"),
            ]
        ),
    ]
)
