import ArgumentParser
import Foundation
import Tensor

/// `grain runtime`: the kernels and threads this build uses on this machine, as one JSON line, for
/// the benchmark scripts (`Scripts/compare/measurement.py`) to print beside their figures.
struct Runtime: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime",
        abstract: "Print the kernel level, OpenBLAS core and thread counts in use (JSON on standard output).",
        discussion: """
            Fields: `kernels` (Tensor's run-time dispatched kernel level, lowered by GRAIN_KERNELS), \
            `kernels_hardware` (the widest level the CPU supports), `openblas_core` (OpenBLAS's kernel \
            family, which OPENBLAS_CORETYPE overrides), `openblas_config`, `openblas_threads_per_call` \
            (1: Grain splits large products itself), `grain_threads` (Grain's workers) and the \
            OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE / GRAIN_KERNELS values seen (null when unset).
            """,
        shouldDisplay: false)

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let report: [String: Any] = [
            "kernels": Kernels.activeLevel.description,
            "kernels_hardware": Kernels.hardwareLevel.description,
            "openblas_core": BLASThreading.coreName,
            "openblas_config": BLASThreading.configuration,
            "openblas_threads_per_call": BLASThreading.threadsPerCall,
            "grain_threads": Parallel.threadCount,
            "OPENBLAS_CORETYPE": environment["OPENBLAS_CORETYPE"] ?? NSNull(),
            "OPENBLAS_L2_SIZE": environment["OPENBLAS_L2_SIZE"] ?? NSNull(),
            "GRAIN_KERNELS": environment["GRAIN_KERNELS"] ?? NSNull(),
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
