import Foundation
import Testing
import Tensor
import GrainTestSupport
import Diffusion

/// The paper's nine noise levels (DESIGN.md §6) on Stable Diffusion v1.4's 50-step schedule.
@Suite struct NoiseLevelTests {
    /// ᾱ at the start of levels 1…9 as DESIGN.md §6 lists them (4 decimals).
    static let listedAlphas: [Float] = [0.9983, 0.9804, 0.9609, 0.9398, 0.9171, 0.8930, 0.8674, 0.8404, 0.8121]

    @Test func levelsStartAt20kMinus19AndRunTheLastKSteps() {
        let scheduler = NoiseLevel.standardScheduler
        #expect(NoiseLevel.all.map(\.value) == Array(1...9))
        for level in NoiseLevel.all {
            let k = level.value
            #expect(level.startTimestep(in: scheduler) == 20 * (k - 1) + 1)
            #expect(level.timesteps(in: scheduler) == Array(stride(from: 20 * (k - 1) + 1, through: 1, by: -20)))
            #expect(level.timesteps(in: scheduler) == Array(scheduler.timesteps.suffix(k)))
            #expect(level.stepCount == k)
        }
    }

    @Test func alphasMatchTheListedValues() {
        let scheduler = NoiseLevel.standardScheduler
        let alphas = NoiseLevel.all.map { $0.alphaCumulativeProduct(in: scheduler) }
        print("[noise levels] ᾱ: \(alphas)")
        for (alpha, listed) in zip(alphas, Self.listedAlphas) {
            #expect(abs(alpha - listed) <= 5e-5, "ᾱ \(alpha) vs listed \(listed)")
        }
        #expect(zip(alphas, alphas.dropFirst()).allSatisfy { $0 > $1 }, "ᾱ decreases with the level")
    }

    @Test func corruptionIsTheForwardProcess() {
        let scheduler = NoiseLevel.standardScheduler
        let original = randomTensor([2, 4, 5, 5], seed: 11)
        var generator = RandomGenerator(seed: 12)
        let level = try! NoiseLevel(4)
        let (corrupted, noise) = scheduler.corrupt(original, level: level, using: &generator)
        let alpha = Double(scheduler.alphasCumulativeProduct[61])
        let expected = zip(original.scalars, noise.scalars).map { Float(alpha.squareRoot() * Double($0) + (1 - alpha).squareRoot() * Double($1)) }
        expectClose(corrupted, Tensor(shape: original.shape, scalars: expected), rtol: 1e-6, atol: 1e-6, "level 4 corruption")
        var again = RandomGenerator(seed: 12)
        #expect(scheduler.corrupt(original, level: level, using: &again).corrupted.scalars == corrupted.scalars)
    }

    @Test func levelsOutsideOneToNineAreErrors() throws {
        #expect(throws: DiffusionError.noiseLevelOutOfRange(0)) { try NoiseLevel(0) }
        #expect(throws: DiffusionError.noiseLevelOutOfRange(10)) { try NoiseLevel(10) }
        #expect(DiffusionError.noiseLevelOutOfRange(10).description == "noise level 10 is outside 1…9")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([NoiseLevel].self, from: Data("[3, 12]".utf8)) }
        let decoded = try JSONDecoder().decode([NoiseLevel].self, from: Data("[3, 9]".utf8))
        #expect(decoded == [try NoiseLevel(3), try NoiseLevel(9)])
    }
}
