import ArgumentParser

/// The `grain` command-line tool.
@main
struct Grain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grain",
        abstract: "Detect AI-generated images as anomalies against the low-level statistics of real photographs.",
        version: "0.1.0",
        subcommands: [Parity.self, Features.self, Fit.self, Detect.self, Explain.self, Evaluate.self, CalibrationCheck.self, Convert.self, Inspect.self,
                      PretextCommand.self, DenoiserCommand.self, Train.self, Finetune.self, PlotMetrics.self,
                      BenchmarkExtractor.self, BenchmarkStableDiffusion.self, BenchmarkMixture.self, BenchmarkTrain.self,
                      Runtime.self]
    )
}
