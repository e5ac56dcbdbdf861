import Foundation
import Testing
@testable import Tensor

/// The one atomic writer: a killed writer's temporary file is removed by the next write to the
/// same target (issue 17), a live writer's is kept, and a failed write leaves the target alone.
struct AtomicFileTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("grain-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func theNextWriteRemovesADeadWritersTemporaryFiles() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("detector.safetensors")
        // What `grain fit --out detector.safetensors` killed mid-write leaves: no process has
        // pid 2147483646. A running process's (our parent's) file and another target's stay.
        let host = AtomicFile.hostTag
        let dead = AtomicFile.temporaryPrefix(for: "detector.safetensors") + "\(host)-2147483646-1f"
        let live = AtomicFile.temporaryPrefix(for: "detector.safetensors") + "\(host)-\(getppid())-2e"
        let other = AtomicFile.temporaryPrefix(for: "other.safetensors") + "\(host)-2147483646-3d"
        for name in [dead, live, other] {
            try Data("partial".utf8).write(to: folder.appendingPathComponent(name))
        }
        try SafeTensors.write(["x": Tensor([1, 2, 3])], to: target)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(names == [target.lastPathComponent, live, other], "\(names)")
        #expect(try SafeTensors(contentsOf: target).tensor(named: "x").scalars == [1, 2, 3])
    }

    @Test func aFailingBodyLeavesTheTargetAndNoTemporaryFile() throws {
        struct Stop: Error {}
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("file.bin")
        try AtomicFile.write(Data("old".utf8), to: target)
        #expect(throws: Stop.self) {
            try AtomicFile.create(at: target) { descriptor in
                try AtomicFile.writeAll(descriptor, UnsafeRawBufferPointer(start: nil, count: 0), path: target.path)
                throw Stop()
            }
        }
        #expect(try String(contentsOf: target, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["file.bin"])
    }
}
