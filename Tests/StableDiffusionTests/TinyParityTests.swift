import Foundation
import Testing
import Tensor
import NN
import GrainTestSupport

/// The committed tiny diffusers folder and the outputs diffusers/transformers computed from it
/// (Scripts/reference/sd_fixtures.py).
enum TinyFixtures {
    static let directory = URL(fileURLWithPath: fixturesDirectory())
    static let folderURL = directory.appendingPathComponent("tiny-sd")
    static func folder() throws -> DiffusersFolder { try DiffusersFolder(folderURL) }
    static func io() throws -> SafeTensors { try SafeTensors(contentsOf: directory.appendingPathComponent("tiny_sd_io.safetensors")) }
}

/// Expects `actual` within 1e-4 of `expected` relative to the largest expected magnitude (and
/// element-wise within 1e-4 relative plus that floor).
func expectParity(_ actual: Tensor, _ expected: Tensor, _ label: String, relative: Float = 1e-4,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    let scale = expected.scalars.reduce(Float(0)) { max($0, abs($1)) }
    expectClose(actual, expected, rtol: relative, atol: relative * scale, label, sourceLocation: sourceLocation)
}

@Suite("Tiny Stable Diffusion parts match diffusers and transformers")
struct TinyParityTests {
    func tokens(_ io: SafeTensors) throws -> [[Int]] {
        let ids = try io.tensor(named: "clip.input_ids")
        let (rows, length) = (ids.shape[0], ids.shape[1])
        let flat = ids.scalars.map { Int($0) }
        return (0..<rows).map { Array(flat[($0 * length)..<(($0 + 1) * length)]) }
    }

    @Test func clipTextEncoderMatchesTransformers() throws {
        let io = try TinyFixtures.io()
        let model = try TinyFixtures.folder().textEncoder()
        #expect(model.namedParameters().count == 36)
        let ids = try tokens(io)
        #expect(ids[0] == CLIPTextModel.emptyPromptTokens(startToken: 998, endToken: 999))
        let (hidden, pooled) = try model(ids)
        expectParity(hidden, try io.tensor(named: "clip.last_hidden_state"), "CLIP last_hidden_state")
        expectParity(pooled, try io.tensor(named: "clip.pooler_output"), "CLIP pooler_output")
    }

    @Test func clipTextEncoderLoadsTheTransformers5Fp16Variant() throws {
        let io = try TinyFixtures.io()
        let model = try TinyFixtures.folder().textEncoder(variant: "fp16")
        let (hidden, _) = try model(try tokens(io))
        expectParity(hidden, try io.tensor(named: "clip_fp16.last_hidden_state"), "CLIP fp16 variant")
    }

    @Test func unetMatchesDiffusers() throws {
        let io = try TinyFixtures.io()
        let unet = try TinyFixtures.folder().unet()
        #expect(unet.namedParameters().count == 208)
        let output = try unet(try io.tensor(named: "unet.sample"), timesteps: try io.tensor(named: "unet.timesteps").scalars,
                              encoderHiddenStates: try io.tensor(named: "unet.encoder_hidden_states"))
        expectParity(output, try io.tensor(named: "unet.output"), "U-Net [2, 4, 8, 8]")
    }

    @Test func unetMatchesDiffusersOnSizesThatAreNotMultiplesOfTwo() throws {
        let io = try TinyFixtures.io()
        let unet = try TinyFixtures.folder().unet()
        let output = try unet(try io.tensor(named: "unet.odd_sample"), timesteps: try io.tensor(named: "unet.odd_timesteps").scalars,
                              encoderHiddenStates: try io.tensor(named: "unet.odd_encoder_hidden_states"))
        expectParity(output, try io.tensor(named: "unet.odd_output"), "U-Net [1, 4, 5, 7]")
    }

    @Test func unetLoadsTheFp16Variant() throws {
        let io = try TinyFixtures.io()
        let unet = try TinyFixtures.folder().unet(variant: "fp16")
        let output = try unet(try io.tensor(named: "unet.sample"), timesteps: try io.tensor(named: "unet.timesteps").scalars,
                              encoderHiddenStates: try io.tensor(named: "unet.encoder_hidden_states"))
        expectParity(output, try io.tensor(named: "unet_fp16.output"), "U-Net fp16 variant")
    }

    @Test func vaeEncodeMatchesDiffusers() throws {
        let io = try TinyFixtures.io()
        let vae = try TinyFixtures.folder().vae()
        #expect(vae.configuration.scalingFactor == 0.18215)
        let posterior = try vae.encode(try io.tensor(named: "vae.image"))
        expectParity(posterior.mean, try io.tensor(named: "vae.posterior_mean"), "VAE posterior mean")
        expectParity(posterior.logVariance, try io.tensor(named: "vae.posterior_logvar"), "VAE posterior log-variance")
        expectParity(posterior.standardDeviation, try io.tensor(named: "vae.posterior_std"), "VAE posterior std")
        expectParity(posterior.sample(noise: try io.tensor(named: "vae.noise")), try io.tensor(named: "vae.sample"), "VAE sample")
    }

    @Test func vaeDecodeMatchesDiffusers() throws {
        let io = try TinyFixtures.io()
        let vae = try TinyFixtures.folder().vae()
        expectParity(try vae.decode(try io.tensor(named: "vae.latent")), try io.tensor(named: "vae.decoded"), "VAE decode")
        let mean = try io.tensor(named: "vae.posterior_mean")
        expectParity(try vae.decode(mean), try io.tensor(named: "vae.reconstruction"), "VAE decode(encode mean)")
    }

    @Test func vaeLoadsTheFp16Variant() throws {
        let io = try TinyFixtures.io()
        let vae = try TinyFixtures.folder().vae(variant: "fp16")
        expectParity(try vae.decode(try io.tensor(named: "vae.latent")), try io.tensor(named: "vae_fp16.decoded"), "VAE fp16 variant")
    }

    @Test func fp16VariantHoldsTheFp32WeightsRoundedToHalf() throws {
        let folder = try TinyFixtures.folder()
        let single = try folder.vae().stateDictionary(), half = try folder.vae(variant: "fp16").stateDictionary()
        #expect(single.keys.sorted() == half.keys.sorted())
        var worst: Float = 0
        for (key, value) in single {
            let (maxAbs, _, _) = closeness(half[key]!.scalars, value.scalars, rtol: 0, atol: 0)
            let scale = value.scalars.reduce(Float(0)) { max($0, abs($1)) }
            worst = max(worst, maxAbs / max(scale, 1e-6))
        }
        print("[parity] fp16 vs fp32 VAE weights: worst max abs / max |w| \(worst)")
        #expect(worst > 0 && worst < 1e-3)
    }

    @Test func loadedPartsAreFrozenUnlessAskedOtherwise() throws {
        let folder = try TinyFixtures.folder()
        #expect(try folder.vae().namedParameters().allSatisfy { !$0.parameter.isTrainable })
        #expect(try folder.vae(trainable: true).namedParameters().allSatisfy { $0.parameter.isTrainable })
    }
}
