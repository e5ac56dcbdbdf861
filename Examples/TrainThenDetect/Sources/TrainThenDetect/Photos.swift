import Foundation
import Imaging

/// A Debian package that ships real photographs, and the ones taken from it.
struct PhotoPackage {
    /// The package name.
    let name: String
    /// The version the checksums were taken from (Debian 12); another version is tried if this
    /// one is not in the machine's package lists, and its files are used with a warning if they differ.
    let version: String
    /// The licence of the photographs, from the package's `copyright` file.
    let licence: String
    /// Each photograph: its path inside the package, its SHA-256, and its author or origin.
    let files: [(path: String, sha256: String, credit: String)]
}

/// Where the default photographs come from: 16 colour photographs, all under free licences.
let photoPackages = [
    PhotoPackage(
        name: "mate-backgrounds", version: "1.26.0-1",
        licence: "GPL-2+ (Debian copyright file of mate-backgrounds, copied to LICENCES/mate-backgrounds.copyright)",
        files: [
            ("usr/share/backgrounds/mate/nature/Aqua.jpg", "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce", "2008 Charles Barbin"),
            ("usr/share/backgrounds/mate/nature/Blinds.jpg", "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600", "2008 Lennart Poettering, Andrea Cimitan"),
            ("usr/share/backgrounds/mate/nature/Dune.jpg", "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91", "2007 Marco Cogoni, 2008 Hylke Bons"),
            ("usr/share/backgrounds/mate/nature/FreshFlower.jpg", "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e", "2005 Jens Ansorg"),
            ("usr/share/backgrounds/mate/nature/Garden.jpg", "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78", "2008 Charles Barbin"),
            ("usr/share/backgrounds/mate/nature/GreenMeadow.jpg", "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832", "2005 Timothy Schellhase, 2008 Lapo Calamandrei"),
            ("usr/share/backgrounds/mate/nature/LadyBird.jpg", "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d", "2008 Charles Barbin"),
            ("usr/share/backgrounds/mate/nature/RainDrops.jpg", "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16", "2008 \"blackcombwhistler07\""),
            ("usr/share/backgrounds/mate/nature/Storm.jpg", "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957", "2008 Sergey Nazarov"),
            ("usr/share/backgrounds/mate/nature/TwoWings.jpg", "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb", "2008 Charles Barbin, Hylke Bons"),
            ("usr/share/backgrounds/mate/nature/Wood.jpg", "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07", "2008 Jean-François Fortin Tam"),
            ("usr/share/backgrounds/mate/nature/YellowFlower.jpg", "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306", "2008 Charles Barbin"),
        ]),
    PhotoPackage(
        name: "python3-skimage", version: "0.19.3-8",
        licence: "BSD-3-Clause (Debian copyright file of python3-skimage, copied to LICENCES/python3-skimage.copyright); "
            + "upstream scikit-image documents astronaut and rocket as public domain (NASA, SpaceX), chelsea and coffee as CC0",
        files: [
            ("usr/lib/python3/dist-packages/skimage/data/astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", "NASA (Eileen Collins)"),
            ("usr/lib/python3/dist-packages/skimage/data/chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb", "Stéfan van der Walt"),
            ("usr/lib/python3/dist-packages/skimage/data/coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7", "Rachel Michetti"),
            ("usr/lib/python3/dist-packages/skimage/data/rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c", "SpaceX"),
        ]),
]

/// A stage failed (fetching the photos, a stale working folder, too few photos).
struct RunError: Error, CustomStringConvertible {
    let description: String
}

/// Returns the default photographs, fetching them into `cache` on first use: `apt-get download`
/// of each package (the system's package lists and signature checks), `dpkg-deb -x` into a
/// temporary folder, a SHA-256 check of each photo, then an atomic rename into the cache. The
/// licences go to `cache/LICENCES/` (the packages' copyright files and `SOURCES.md`).
func defaultPhotos(cache: URL) throws -> [URL] {
    let manager = FileManager.default
    let wanted = photoPackages.flatMap { package in package.files.map { (package, $0) } }
    func target(_ path: String) -> URL { cache.appendingPathComponent((path as NSString).lastPathComponent) }
    let missing = Set(wanted.filter { !manager.fileExists(atPath: target($0.1.path).path) }.map(\.0.name))
    if missing.isEmpty { return wanted.map { target($0.1.path) } }

    try manager.createDirectory(at: cache.appendingPathComponent("LICENCES"), withIntermediateDirectories: true)
    let work = cache.appendingPathComponent(".fetch-\(ProcessInfo.processInfo.processIdentifier)")
    try? manager.removeItem(at: work)
    try manager.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? manager.removeItem(at: work) }
    var sources = ["# Sources of the photographs in this folder", ""]
    for package in photoPackages where missing.contains(package.name) {
        status("fetching \(package.name) (Debian package) …")
        var version = package.version
        if (try? run("apt-get", ["download", "-q", "\(package.name)=\(package.version)"], in: work)) == nil {
            do {
                try run("apt-get", ["download", "-q", package.name], in: work)
            } catch {
                throw RunError(description: """
                    could not download the Debian package \(package.name) with apt-get (offline, no package lists, or not a \
                    Debian-based system?): \(error)
                    Run `apt-get update` first, or pass --photos DIR with a folder of your own photographs.
                    """)
            }
            version = "(the system's candidate version)"
        }
        guard let deb = try manager.contentsOfDirectory(atPath: work.path).first(where: { $0.hasPrefix(package.name + "_") && $0.hasSuffix(".deb") }) else {
            throw RunError(description: "apt-get download \(package.name) left no .deb in \(work.path)")
        }
        let extracted = work.appendingPathComponent(package.name)
        try run("dpkg-deb", ["-x", deb, extracted.path], in: work)
        sources += ["## \(package.name) \(version == package.version ? version : deb)", "", "Licence: \(package.licence)", ""]
        for file in package.files {
            let source = extracted.appendingPathComponent(file.path)
            guard manager.fileExists(atPath: source.path) else {
                throw RunError(description: "\(deb) has no \(file.path); pass --photos DIR instead")
            }
            let digest = try SHA256.hexDigest(ofFileAt: source)
            if digest != file.sha256 {
                status("warning: \(file.path) in \(deb) differs from the expected version (SHA-256 \(digest.prefix(12))…): results will differ from the README's")
            }
            // Atomic: the cache only ever holds complete, checked files.
            let temporary = cache.appendingPathComponent(".\(target(file.path).lastPathComponent).partial")
            try? manager.removeItem(at: temporary)
            try manager.copyItem(at: source, to: temporary)
            guard rename(temporary.path, target(file.path).path) == 0 else {
                throw RunError(description: "could not move \(temporary.path) into place (errno \(errno))")
            }
            sources.append("- `\(target(file.path).lastPathComponent)` — \(file.credit); `/\(file.path)`, SHA-256 `\(digest)`")
        }
        sources.append("")
        let copyright = extracted.appendingPathComponent("usr/share/doc/\(package.name)/copyright")
        if manager.fileExists(atPath: copyright.path) {
            let destination = cache.appendingPathComponent("LICENCES/\(package.name).copyright")
            try? manager.removeItem(at: destination)
            try manager.copyItem(at: copyright, to: destination)
        }
    }
    let sourcesFile = cache.appendingPathComponent("LICENCES/SOURCES.md")
    let previous = (try? String(contentsOf: sourcesFile, encoding: .utf8)).map { "\n" + $0 } ?? ""
    try Data((sources.joined(separator: "\n") + previous).utf8).write(to: sourcesFile, options: .atomic)
    return wanted.map { target($0.1.path) }
}

/// Runs a program found on the PATH in `folder`; throws with its standard error when it fails.
func run(_ program: String, _ arguments: [String], in folder: URL) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [program] + arguments
    process.currentDirectoryURL = folder
    let errors = folder.appendingPathComponent(".stderr-\(UUID().uuidString)")
    try Data().write(to: errors)
    let handle = try FileHandle(forWritingTo: errors)
    process.standardError = handle
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try handle.close()
    let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(at: errors)
    guard process.terminationStatus == 0 else {
        let lines = message.split(separator: "\n").filter { !$0.hasPrefix("W: Download is performed unsandboxed") }
        throw RunError(description: "\(program) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): "
            + lines.suffix(3).joined(separator: " / "))
    }
}
