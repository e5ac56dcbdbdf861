import ArgumentParser
import Evaluation
import Foundation
import Imaging
import NN
import OneClass
import Tensor

/// `grain evaluate`: scores real photos and each generator's images, under the original files and
/// under each robustness perturbation, and writes a report (metrics.json, CSVs, figures).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a detector on real photos and generated images; write metrics, tables and figures.",
        discussion: """
        The detector is a file from `grain fit` (--detector), or is fitted here on real photos exactly \
        as `grain fit` fits it with the same flags (--weights, once per member, on --fit-real DIR or on a \
        seeded --fit-fraction of --real, the rest of which is then the real test set; the fit flags — \
        --preset, --components, --covariance, --regularization, --threshold, --calibrate, --target-fpr, \
        --crops-per-image, --crop-size, --crop-min-size, --seed — are `grain fit`'s), and the fitted \
        detector is saved as REPORT/detector.safetensors.

        Test images are scored whole, or as --test-crops random crops of --test-crop-size (an image \
        no larger is one sample). Every setting — the original images, then each --jpeg-quality \
        and --downscale perturbation, applied in memory to every test sample of both classes \
        alike — gets its own metrics. With several members the score is the joint margin \
        min over members of (log-likelihood − threshold), judged real when ≥ 0 (the joint rule); \
        each member's own report is in REPORT/member-N.

        A detector that scores --score-crops K crops per image is evaluated the same way: each test \
        image's K crops are scored and their log-likelihoods aggregated as `grain detect` does.

        Output in --out: metrics.json, per_generator.csv, scores.csv, histogram/roc/projection \
        (.svg and .png), robustness figures, audit.json (the bias audit, printed), verdicts.json \
        (the share of real/generated/uncertain verdicts per source and setting, printed), and with \
        --save-features every feature \
        (features.safetensors), which --features-from reads back to refit the mixture cheaply.
        Exit code 1 if any test file could not be scored (the report is still written).
        """)

    @Option(help: "Folder (or file) of real photos to test on.") var real: String
    @Option(parsing: .upToNextOption, help: "Folders of generated images, one per generator (the folder name names it).")
    var fake: [String]
    @Option(help: "The report folder (created).") var out: String
    @Option(help: "JPEG qualities to sweep, comma-separated (e.g. 100,90,80,70).") var jpegQuality: String?
    @Option(help: "Downscaling factors to sweep, comma-separated (e.g. 0.9,0.8,0.7,0.6,0.5).") var downscale: String?
    @Option(help: "Bias audit: re-encode both classes as JPEG at this quality in memory, e.g. jpeg:90 (repeatable); reported beside the original files.")
    var matchFormat: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "Bias audit: resize both classes so the shorter side is S, then centre-crop S×S (repeatable).")
    var matchSize: [Int] = []
    @Flag(help: "Bias audit: match size and format at once — every --match-size S followed by every --match-format jpeg:Q (setting size-S+jpeg-qQ), both classes alike — instead of each alone.")
    var matchBoth = false
    @Flag(help: "Bias audit: also a setting in which every generated image is re-encoded as JPEG at one of the real test photos' estimated JPEG qualities (from their quantisation tables) and the real photos are left as decoded.")
    var matchRealQualities = false
    @Option(parsing: .unconditional, help: "Random crops per test image (0: the whole image).") var testCrops = 0
    @Option(parsing: .unconditional, help: "Side of the test crops.") var testCropSize = 256
    @Option(help: "A detector file from `grain fit`.") var detector: String?

    @OptionGroup var fit: FitOptions
    @Option(parsing: .unconditional, help: "Fit on every photo under this folder.") var fitReal: String?
    @Option(help: "Fit on this seeded fraction of --real and test on the rest.") var fitFraction: Double?

    @Flag(help: "Also write every feature to features.safetensors.") var saveFeatures = false
    @Option(help: "Read the features from a features.safetensors written by --save-features instead of computing them (the split, crop and calibration-split options are then those of the saved run; the mixture and threshold options are not, and --weights must name the same weights).")
    var featuresFrom: String?

    func validate() throws {
        let fitting = fitReal != nil || fitFraction != nil
        if detector != nil {
            guard !fitting, fit.weights.isEmpty else { throw ValidationError("--detector excludes --weights, --fit-real and --fit-fraction") }
        } else if featuresFrom == nil {
            guard (fitReal == nil) != (fitFraction == nil) else {
                throw ValidationError("give --detector, or exactly one of --fit-real and --fit-fraction (with --weights)")
            }
        }
        if let fitFraction, !(fitFraction > 0 && fitFraction < 1) { throw ValidationError("--fit-fraction must be in (0, 1)") }
        guard testCrops >= 0, testCropSize >= 16 else { throw ValidationError("--test-crops ≥ 0 and --test-crop-size ≥ 16") }
        guard !fake.isEmpty else { throw ValidationError("give at least one --fake folder") }
        _ = try perturbations()
    }

    /// The settings: the original images, then each JPEG quality, then each downscaling factor.
    func perturbations() throws -> [ImagePerturbation] {
        func list(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let qualities = try list(jpegQuality).map { text -> ImagePerturbation in
            guard let q = Int(text), (1...100).contains(q) else { throw ValidationError("--jpeg-quality: \(text) is not in 1...100") }
            return .jpeg(quality: q)
        }
        let factors = try list(downscale).map { text -> ImagePerturbation in
            guard let f = Double(text), f > 0, f <= 1 else { throw ValidationError("--downscale: \(text) is not in (0, 1]") }
            return .downscale(factor: f)
        }
        let formats = try matchFormat.map { text -> ImagePerturbation in
            let parts = text.lowercased().split(separator: ":")
            guard parts.count == 2, parts[0] == "jpeg", let q = Int(parts[1]), (1...100).contains(q) else {
                throw ValidationError("--match-format: \(text) is not jpeg:Q with Q in 1...100")
            }
            return .jpeg(quality: q)
        }
        let sizes = try matchSize.map { side -> ImagePerturbation in
            guard side >= 16 else { throw ValidationError("--match-size: \(side) is below 16 (one patch)") }
            return .matchedSize(side: side)
        }
        if matchBoth, formats.isEmpty || sizes.isEmpty { throw ValidationError("--match-both needs at least one --match-format and one --match-size") }
        let matched = matchBoth ? sizes.flatMap { size in formats.map { ImagePerturbation.composed(size, $0) } } : formats + sizes
        var seen = Set<ImagePerturbation>()
        return ([.original] + matched + qualities + factors).filter { seen.insert($0).inserted }
    }

    /// Everything the metrics are computed from.
    struct FeatureSet {
        /// The fit's features (nil with --detector).
        var fit: Detector.FitFeatures?
        /// `[setting][source]`: real first, then each generator.
        var tests: [[SampleFeatures]]
        var failures: [String: String] = [:]
        /// How the features were made.
        var provenance: [String: String] = [:]
        /// The weight files, one per member.
        var weightFiles: [String]
    }

    /// The `--match-real-qualities` setting: the estimated JPEG qualities of the real test photos
    /// (nil without the flag; the folders are listed only with it).
    func realQualitySetting() throws -> ImagePerturbation? {
        guard matchRealQualities else { return nil }
        let realFiles = try splitRealFiles(seed: fit.seed).test
        let qualities = realFiles.compactMap { try? ImageSourceDescription(contentsOf: URL(fileURLWithPath: $0)).jpeg?.quality.quality }
        guard !qualities.isEmpty else { throw ValidationError("--match-real-qualities: none of the real test photos is a JPEG with readable quantisation tables") }
        return .jpegAtQualities(qualities.sorted())
    }

    func run() throws {
        var settings = try perturbations()
        if let qualities = try realQualitySetting() { settings.append(qualities) }
        let sourceNames = ["real"] + fake.map { ((($0 as NSString).standardizingPath) as NSString).lastPathComponent }
        guard Set(sourceNames).count == sourceNames.count else { throw ValidationError("--fake folder names must be distinct and not \"real\"") }

        // 1. The detector — loaded, or fitted as `grain fit` fits it — and the test features.
        let fitted = detector == nil
        let set: FeatureSet
        let theDetector: Detector
        var provenance: [String: String]
        if let path = detector {
            do { theDetector = try Detector(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw ValidationError("\(path): \(error)")
            }
            if let featuresFrom {
                set = try loadFeatures(featuresFrom, settings: settings, sourceNames: sourceNames, needFit: false, readout: theDetector.readout,
                                       scoring: theDetector.scoring)
            } else {
                set = extractTestFeatures(settings: settings, sourceNames: sourceNames, realFiles: try imageFiles([real]), fit: nil,
                                          tokenizer: theDetector.tokenizer, scoring: theDetector.scoring, readout: theDetector.readout,
                                          extractors: theDetector.members.map(\.extractor),
                                          weightFiles: theDetector.members.map(\.provenance.weightsFileName))
            }
            provenance = set.provenance
            provenance["detector"] = path
        } else {
            let configuration = try fit.configuration()
            let weightFiles = try resolvedWeights(fit.weights)
            let extractors = try weightFiles.map { file -> (LowLevelFeatureExtractor, Detector.Provenance) in
                let url = URL(fileURLWithPath: file)
                let extractor = try LowLevelFeatureExtractor(contentsOf: url)
                return (extractor, Detector.Provenance(weightsFileName: url.lastPathComponent, weightsSHA256: try SHA256.hexDigest(ofFileAt: url),
                                                        parametersSHA256: Detector.parametersDigest(of: extractor)))
            }
            if let featuresFrom {
                set = try loadFeatures(featuresFrom, settings: settings, sourceNames: sourceNames, needFit: true, readout: configuration.readout,
                                       scoring: configuration.scoring)
            } else {
                set = try extractFeatures(settings: settings, sourceNames: sourceNames, extractors: extractors.map(\.0),
                                          weightFiles: weightFiles, configuration: configuration)
            }
            do {
                theDetector = try Detector.fit(features: set.fit!, extractors: extractors, configuration: configuration)
            } catch {
                throw ValidationError("fitting the detector: \(error)")
            }
            printError(FitReport(detector: theDetector, weightFiles: weightFiles.map { URL(fileURLWithPath: $0) }).text)
            provenance = set.provenance
        }
        let memberCount = theDetector.members.count
        guard set.tests[0][0].rows.count == memberCount else {
            throw ValidationError("the features are for \(set.tests[0][0].rows.count) members, the detector has \(memberCount)")
        }

        // 2. Mixtures and thresholds: the detector's.
        let mixtures = theDetector.members.map(\.mixture), thresholds = theDetector.thresholds
        for (index, member) in theDetector.members.enumerated() {
            let mixture = member.mixture
            provenance["member\(index)_weights"] = member.provenance.weightsFileName
            provenance["member\(index)_mixture"] = "\(mixture.componentCount) × \(mixture.covarianceType.rawValue), regularization \(mixture.configuration.regularization)"
                + ", converged \(mixture.converged) after \(mixture.iterationCount) iterations, \(mixture.parameterCount) parameters"
            var threshold = "\(member.threshold) (\(member.thresholdReport.rule.rawValue)"
            if let calibration = member.thresholdReport.calibration {
                threshold += String(format: ", calibrated on %d photos: false-positive rate %.4f, %.0f%% interval [%.4f, %.4f]",
                                    calibration.calibrationCount, calibration.realisedFalsePositiveRate, 100 * calibration.confidenceLevel,
                                    calibration.falsePositiveRateInterval.lowerBound, calibration.falsePositiveRateInterval.upperBound)
            }
            provenance["member\(index)_threshold"] = threshold + ")"
        }
        if let summary = theDetector.fitSummary {
            for (index, selection) in summary.mixtureSelections.enumerated() { provenance["member\(index)_mixture_selection"] = selection.table }
            if !summary.warnings.isEmpty { provenance["warnings"] = summary.warnings.joined(separator: "\n") }
        }

        // 3. Scores and reports: the combined score at the top, each member's below when several.
        var combinedScores: [SettingScores] = []
        var memberScores = [[SettingScores]](repeating: [], count: memberCount)
        var combinedThreshold = 0.0
        var verdicts: [(setting: String, source: String, isReal: Bool, verdicts: [Detector.Verdict])] = []
        var scoreDecisions: [[[Detector.Verdict.Decision]]] = []   // [setting][source][sample], without the domain check
        var flips: [Int?] = []
        var descriptions: [String: (ImageSourceDescription, Int)?] = [:]   // path → header and whole-image patches
        func described(_ path: String) -> (ImageSourceDescription, Int)? {
            if let known = descriptions[path] { return known }
            let description = try? ImageSourceDescription(contentsOf: URL(fileURLWithPath: path))
            let entry = description.map { ($0, theDetector.tokenizer.patchCount(width: $0.header.width, height: $0.header.height)) }
            descriptions[path] = entry
            return entry
        }
        for (settingIndex, setting) in settings.enumerated() {
            scoreDecisions.append([])
            var combined: [ScoredSource] = []
            var perMember = [[ScoredSource]](repeating: [], count: memberCount)
            for (sourceIndex, name) in sourceNames.enumerated() {
                let features = set.tests[settingIndex][sourceIndex]
                guard features.count > 0 else { throw ValidationError("\(name): no image could be scored") }
                var scores = try Evaluation.scores(features, mixtures: mixtures, thresholds: thresholds)
                combinedThreshold = scores.combinedThreshold
                var sampleNames = features.names
                var matrices: [Matrix?] = (0..<memberCount).map { features.matrix(member: $0) }
                if features.names.contains(where: { $0.contains(Evaluation.regionSuffix) }) {
                    // Multi-crop scoring: one score per image, aggregated as the detector does; the
                    // per-region features no longer line up with the samples (no projection figure).
                    let folded = Evaluation.aggregatedByImage(names: features.names, perMember: scores.perMember, scoring: theDetector.scoring)
                    sampleNames = folded.names
                    scores.perMember = folded.perMember
                    scores.combined = memberCount == 1 ? folded.perMember[0]
                        : Evaluation.jointMargins(perMember: folded.perMember, thresholds: thresholds)
                    matrices = Array(repeating: nil, count: memberCount)
                }
                combined.append(ScoredSource(name: name, sampleNames: sampleNames, logLikelihoods: scores.combined,
                                             features: memberCount == 1 ? matrices[0] : nil))
                // The detector's three-way verdicts: the domain checked on files as they are (whole, original setting).
                verdicts.append((setting.description, name, sourceIndex == 0, sampleNames.indices.map { sample in
                    let file = setting == .original && !sampleNames[sample].contains("#") ? described(sampleNames[sample]) : nil
                    return theDetector.verdict(logLikelihoods: scores.perMember.map { $0[sample] }, patchCount: file?.1 ?? 0, source: file?.0)
                }))
                scoreDecisions[settingIndex].append(sampleNames.indices.map { sample in
                    theDetector.verdict(logLikelihoods: scores.perMember.map { $0[sample] }, patchCount: 0).decision
                })
                flips.append(settingIndex == 0 ? nil : VerdictShares.flips(scoreDecisions[0][sourceIndex], scoreDecisions[settingIndex][sourceIndex]))
                for member in 0..<memberCount {
                    perMember[member].append(ScoredSource(name: name, sampleNames: sampleNames,
                                                          logLikelihoods: scores.perMember[member], features: matrices[member]))
                }
            }
            combinedScores.append(SettingScores(perturbation: setting, real: combined[0], generated: Array(combined.dropFirst()),
                                                failures: set.failures))
            for member in 0..<memberCount {
                memberScores[member].append(SettingScores(perturbation: setting, real: perMember[member][0],
                                                          generated: Array(perMember[member].dropFirst()), failures: set.failures))
            }
        }
        let outURL = URL(fileURLWithPath: out)
        provenance["score"] = memberCount == 1 ? "log-likelihood" : "joint margin: min over members of (log-likelihood − threshold)"
        let report = EvaluationReport(threshold: combinedThreshold, settings: combinedScores, provenance: provenance,
                                      scoreLabel: memberCount == 1 ? "log-likelihood" : "joint margin: min over members of (log-likelihood - threshold)")
        try report.write(to: outURL, scores: combinedScores)
        if memberCount > 1 {
            for member in 0..<memberCount {
                var memberProvenance = provenance
                memberProvenance["score"] = "log-likelihood of member \(member) alone"
                try EvaluationReport(threshold: thresholds[member], settings: memberScores[member], provenance: memberProvenance)
                    .write(to: outURL.appendingPathComponent("member-\(member)"), scores: memberScores[member])
            }
        }

        // 4. The fitted detector and the features, for reuse.
        if fitted {
            do { try theDetector.save(to: outURL.appendingPathComponent("detector.safetensors")) } catch {
                throw ValidationError("\(error)")
            }
        }
        let audit = BiasAudit(settings: combinedScores, threshold: combinedThreshold, seed: fit.seed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(audit).write(to: outURL.appendingPathComponent("audit.json"))
        print(audit.table)
        let shares = VerdictShares(verdicts, flips: flips)
        try encoder.encode(shares).write(to: outURL.appendingPathComponent("verdicts.json"))
        print(shares.table)
        if saveFeatures { try writeFeatures(set, settings: settings, sourceNames: sourceNames, to: outURL.appendingPathComponent("features.safetensors")) }
        printSummary(report)
        if !set.failures.isEmpty {
            for (file, reason) in set.failures.sorted(by: { $0.key < $1.key }) { printError("\(file): \(reason)") }
            printError("\(set.failures.count) file(s) could not be scored (also listed in metrics.json)")
            throw ExitCode(1)
        }
    }

    // MARK: - Features

    /// The key of a saved feature matrix: member 0 plain (`fit`, `original/real`), others prefixed `memberN/`.
    static func featureKey(_ key: String, member: Int) -> String { member == 0 ? key : "member\(member)/\(key)" }

    func writeFeatures(_ set: FeatureSet, settings: [ImagePerturbation], sourceNames: [String], to url: URL) throws {
        var tensors: [(String, Tensor)] = []
        var metadata = ["provenance": String(decoding: try JSONSerialization.data(withJSONObject: set.provenance, options: [.sortedKeys]), as: UTF8.self),
                        "weights": try jsonString(set.weightFiles)]
        func add(_ key: String, _ features: SampleFeatures) throws {
            for member in features.rows.indices {
                tensors.append((Self.featureKey(key, member: member), Tensor(features.matrix(member: member))))
            }
            metadata[key] = try jsonString(features.names)
        }
        if let fit = set.fit {
            // The fit's features: training crops and calibration samples per member, with their photos.
            let d = LowLevelFeatureExtractor.featureDimension
            for member in 0..<fit.memberCount {
                tensors.append((Self.featureKey("fit/training", member: member),
                                Tensor(shape: [fit.trainingSampleCount, d], scalars: fit.training[member])))
                tensors.append((Self.featureKey("fit/calibration", member: member),
                                Tensor(shape: [fit.calibrationGroups.count, d], scalars: fit.calibration[member])))
            }
            metadata["fit/training_groups"] = try jsonString(fit.trainingGroups.map(String.init))
            metadata["fit/calibration_groups"] = try jsonString(fit.calibrationGroups.map(String.init))
            metadata["fit/skipped"] = String(decoding: try JSONEncoder().encode(fit.skipped), as: UTF8.self)
        }
        for (settingIndex, setting) in settings.enumerated() {
            for (sourceIndex, name) in sourceNames.enumerated() { try add("\(setting)/\(name)", set.tests[settingIndex][sourceIndex]) }
        }
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    /// Reads features saved by `--save-features` (the settings and sources asked for must be there).
    func loadFeatures(_ path: String, settings: [ImagePerturbation], sourceNames: [String], needFit: Bool,
                      readout: FeatureReadout, scoring: Detector.Scoring) throws -> FeatureSet {
        let file = try SafeTensors(contentsOf: URL(fileURLWithPath: path))
        let weightFiles = file.metadata["weights"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String] }
            ?? [file.metadata["provenance"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }?["weights"] ?? "?"]
        let memberCount = (1...).first { !file.keys.contains(Self.featureKey("original/real", member: $0)) } ?? 1
        func read(_ key: String) throws -> SampleFeatures {
            guard let json = file.metadata[key], let names = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String] else {
                throw ValidationError("\(path): no features \"\(key)\" (saved: \(file.keys.sorted().joined(separator: ", ")))")
            }
            let rows = try (0..<memberCount).map { member -> [[Float]] in
                let tensor = try file.tensor(named: Self.featureKey(key, member: member))
                let d = tensor.shape.count == 2 ? tensor.shape[1] : 0
                let scalars = tensor.scalars
                return (0..<names.count).map { Array(scalars[($0 * d)..<(($0 + 1) * d)]) }
            }
            return SampleFeatures(names: names, rows: rows)
        }
        var provenance = file.metadata["provenance"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] } ?? [:]
        provenance["features_from"] = path
        // Features saved before readouts could be chosen are token 0's.
        let savedReadout = provenance["readout"] ?? FeatureReadout.firstToken.rawValue
        guard savedReadout == readout.rawValue else {
            throw ValidationError("--readout \(readout) (or the detector's): \(path) holds features read out as \(savedReadout); extract them again without --features-from")
        }
        // Features saved before multi-crop scoring reached evaluate are whole images'.
        let savedScoring = provenance["scoring"] ?? "whole image", scoringText = Self.describe(scoring)
        guard savedScoring == scoringText else {
            throw ValidationError("--score-crops/--score-crop-size/--score-aggregate (or the detector's): \(path) holds test features scored as \(savedScoring), not \(scoringText); extract them again without --features-from")
        }
        func readFit() throws -> Detector.FitFeatures {
            func groups(_ key: String) throws -> [Int] {
                guard let json = file.metadata[key], let values = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String] else {
                    throw ValidationError("\(path): no \"\(key)\": saved by an older grain evaluate? Run it again with --save-features")
                }
                return try values.map { value in
                    guard let group = Int(value) else { throw ValidationError("\(path): \"\(key)\" holds \"\(value)\", not a photo index") }
                    return group
                }
            }
            var fit = Detector.FitFeatures(memberCount: memberCount)
            fit.trainingGroups = try groups("fit/training_groups")
            fit.calibrationGroups = try groups("fit/calibration_groups")
            for member in 0..<memberCount {
                fit.training[member] = try file.tensor(named: Self.featureKey("fit/training", member: member)).scalars
                fit.calibration[member] = try file.tensor(named: Self.featureKey("fit/calibration", member: member)).scalars
            }
            if let skipped = file.metadata["fit/skipped"] {
                fit.skipped = try JSONDecoder().decode([Detector.SkippedImage].self, from: Data(skipped.utf8))
            }
            return fit
        }
        return FeatureSet(fit: needFit ? try readFit() : nil,
                          tests: try settings.map { setting in try sourceNames.map { try read("\(setting)/\($0)") } },
                          provenance: provenance, weightFiles: weightFiles)
    }

    /// Which real photos fit the model (all of --fit-real, or a seeded --fit-fraction of --real)
    /// and which test it (the rest of --real; all of it with --fit-real or --detector).
    func splitRealFiles(seed: UInt64) throws -> (fit: [String], test: [String]) {
        let realFiles = try imageFiles([real])
        if let fitReal { return (try imageFiles([fitReal]), realFiles) }
        guard let fitFraction else { return ([], realFiles) }
        var generator = RandomGenerator(seed: seed, stream: FitStreams.evaluateSplit)
        let shuffled = realFiles.shuffled(using: &generator)
        let fitCount = Int((Double(shuffled.count) * fitFraction).rounded())
        return (Array(shuffled[..<fitCount]).sorted(), Array(shuffled[fitCount...]).sorted())
    }

    /// Splits the real photos into fit and test photos, extracts the fit's features as
    /// `grain fit` does (``Detector/fitFeatures(realImages:extractors:configuration:progress:)``)
    /// and every test feature.
    func extractFeatures(settings: [ImagePerturbation], sourceNames: [String], extractors: [LowLevelFeatureExtractor],
                         weightFiles: [String], configuration: Detector.FitConfiguration) throws -> FeatureSet {
        let (fitFiles, realFiles) = try splitRealFiles(seed: configuration.seed)
        guard !fitFiles.isEmpty, !realFiles.isEmpty else { throw ValidationError("no fit or no real test photos") }
        try fit.check(photoCount: fitFiles.count, configuration: configuration)
        printError("fit on \(fitFiles.count) real photos; test on \(realFiles.count) real photos")
        var fitProgress = Progress(total: fitFiles.count, unit: "fit photos")
        let fit: Detector.FitFeatures
        do {
            fit = try Detector.fitFeatures(realImages: fitFiles.map { URL(fileURLWithPath: $0) }, extractors: extractors,
                                           configuration: configuration) { event in
                if case .extracted = event { fitProgress.advance() }
            }
        } catch {
            throw ValidationError("extracting the fit's features: \(error)")
        }
        for skipped in fit.skipped { printError("\(skipped.path): \(skipped.reason) (not used for fitting)") }
        var set = extractTestFeatures(settings: settings, sourceNames: sourceNames, realFiles: realFiles, fit: fit,
                                      tokenizer: configuration.tokenizer, scoring: configuration.scoring, readout: configuration.readout, extractors: extractors,
                                      weightFiles: weightFiles)
        let crops = configuration.crops
        set.provenance.merge([
            "fit_photos": "\(fitFiles.count)", "fit_crops_per_photo": "\(crops.count)",
            "fit_crop_sides": "\(crops.minimumSize)...\(crops.size) (multiples of 16)",
            "fit_split": fitReal.map { "all of \($0)" } ?? "seeded fraction \(fitFraction!) of \(real)",
            "fit_photo_list": fitFiles.joined(separator: "\n"),
            "fit_configuration": String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self),
        ]) { $1 }
        return set
    }

    /// Computes every test sample's features under every setting.
    func extractTestFeatures(settings: [ImagePerturbation], sourceNames: [String], realFiles: [String], fit: Detector.FitFeatures?,
                             tokenizer: ImageTokenizer, scoring: Detector.Scoring, readout: FeatureReadout, extractors: [LowLevelFeatureExtractor],
                             weightFiles: [String]) -> FeatureSet {
        let sampling = TestSampling(cropsPerImage: testCrops, cropSize: testCropSize, seed: self.fit.seed)
        let sources: [[URL]] = [realFiles.map { URL(fileURLWithPath: $0) }] + fake.map { ImageFiles.expand([$0]) }
        var set = FeatureSet(fit: fit, tests: Array(repeating: [], count: settings.count), weightFiles: weightFiles)
        var progress = Progress(total: sources.map(\.count).reduce(0, +), unit: "test images")
        for (sourceIndex, files) in sources.enumerated() {
            // The real photos stay as decoded where only the generated images are re-encoded.
            let perturbations = sourceIndex > 0 ? settings : settings.map { if case .jpegAtQualities = $0 { .original } else { $0 } }
            let result = Evaluation.features(
                files: files, perturbations: perturbations, sampling: sampling, source: sourceIndex,
                memberCount: extractors.count, pixelLimit: self.fit.pixelLimit,
                extractRegions: { image in
                    // Regions as the detector scores them: the whole image, or its K grid crops.
                    let tokens = scoring.tokens(of: image, tokenizer: tokenizer), regions = tokens.shape[0]
                    let perMember = extractors.map { $0.features(tokens, readout: readout).scalars }
                    let d = perMember[0].count / regions
                    return (0..<regions).map { region in perMember.map { Array($0[(region * d)..<((region + 1) * d)]) } }
                },
                progress: { progress.advance() })
            for settingIndex in settings.indices { set.tests[settingIndex].append(result.settings[settingIndex]) }
            set.failures.merge(result.failures) { $1 }
        }
        set.provenance = [
            "weights": weightFiles.joined(separator: ", "), "crop_mode": tokenizer.cropMode.rawValue,
            "maximum_patches": "\(tokenizer.maximumPatches)", "readout": readout.rawValue, "real_test_photos": "\(realFiles.count)",
            "scoring": Self.describe(scoring),
            "test_samples": testCrops > 0 ? "\(testCrops) random \(testCropSize)×\(testCropSize) crops per larger image, seed \(self.fit.seed)" : "whole images",
            "generators": sourceNames.dropFirst().joined(separator: ", "),
        ]
        return set
    }

    /// Which regions of a test image are scored, as the provenance and `--features-from` name it
    /// (the aggregation is applied to the saved regions' scores, so it may differ).
    static func describe(_ scoring: Detector.Scoring) -> String {
        scoring.cropCount == 0 ? "whole image" : "\(scoring.cropCount) grid crops of \(scoring.cropSize) px"
    }

    func printSummary(_ report: EvaluationReport) {
        printError("setting          generator                       AUC     AP    acc  TPR@5%  FPR")
        for setting in report.settings {
            for row in setting.table.rows {
                let m = row.metrics
                printError(setting.name.padding(toLength: 16, withPad: " ", startingAt: 0) + " "
                    + row.generator.padding(toLength: 28, withPad: " ", startingAt: 0)
                    + String(format: " %6.3f %6.3f %6.3f %6.3f %6.3f", m.areaUnderCurve, m.averagePrecision, m.accuracy,
                             m.truePositiveRateAtFivePercentFalsePositiveRate, m.falsePositiveRate))
            }
        }
    }
}

/// A JSON array of strings.
func jsonString(_ strings: [String]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: strings), as: UTF8.self)
}
