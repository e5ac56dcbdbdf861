import Foundation
import OneClass
import Tensor
import Testing

/// The code blocks of OneClass.docc: the first compiled and run, the second (which needs weights
/// and photos) compiled only.
@Suite struct OneClassDocumentationExampleTests {
    @Test func mixtureAndThresholdExample() throws {
        var generator = RandomGenerator(seed: 7)
        let real = Matrix(Tensor.randomNormal([200, 8], using: &generator))   // 200 photos × 8 features
        let mixture = try GaussianMixture(
            fitting: real,
            configuration: .init(componentCount: 1, covarianceType: .full, regularization: 1e-3),
            using: &generator)
        let scores = try mixture.scoreSamples(real)                               // 200 log-likelihoods
        let threshold = LikelihoodThreshold.authors(trainingLogLikelihoods: scores, rate: 0.05)
        let odd = Matrix(Tensor.full([1, 8], value: 4))                           // far from every photo
        let verdict = Detector.Verdict(logLikelihoods: try mixture.scoreSamples(odd),
                                       thresholds: [threshold], patchCount: 1)
        print(verdict.isGenerated)                                                // true
        #expect(verdict.isGenerated)
    }

    /// Not run: compiled so the file-based example stays in step with the API.
    func filesExample(photoURLs: [URL]) throws {
        let detector = try Detector.fit(realImages: photoURLs, weights: [URL(fileURLWithPath: "basic.pth")])
        try detector.save(to: URL(fileURLWithPath: "basic.detector.safetensors"))
        let verdict = try detector.detect(contentsOf: URL(fileURLWithPath: "photo.jpg"))
        _ = verdict
    }
}
