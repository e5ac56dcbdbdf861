// swift-tools-version: 6.1
// An app that depends on Grain and uses `import OneClass` alone: load a detector file written by
// `grain fit` and print a verdict for every image in a folder.
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
            dependencies: [.product(name: "OneClass", package: "Grain")]
        ),
    ]
)
