// swift-tools-version: 6.1
// An app that depends on Grain's OneClass (and Imaging, to list a folder's images): load a detector
// file written by `grain fit` and print a verdict for every image in a folder. It compiles Tensor,
// Imaging, NN and OneClass only — no diffusion or training code.
import PackageDescription

let package = Package(
    name: "DetectFolder",
    dependencies: [
        // In your own package: .package(url: "https://…/Grain.git", from: "0.1.0")
        .package(name: "Grain", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "DetectFolder",
            dependencies: [
                .product(name: "OneClass", package: "Grain"),
                .product(name: "Imaging", package: "Grain"),
            ]
        ),
    ]
)
