import Foundation
import GrainTestSupport
import NN
import Tensor
import Testing

/// The Stable Diffusion code block of NN.docc, run on the tiny random diffusers folder (the
/// documentation's folder is SD v1.4; its image is 512², here 32², and the tiny text encoder
/// needs its own start and end tokens).
@Suite struct StableDiffusionDocumentationExampleTests {
    @Test func diffusersFolderExample() throws {
        let image = Tensor.zeros([1, 3, 32, 32])             // an image in [-1, 1] (512² in the documentation)
        let sd = try DiffusersFolder(URL(fileURLWithPath: fixturesDirectory() + "/tiny-sd"))
        let unet = try sd.unet(variant: "fp16"), vae = try sd.vae(), textEncoder = try sd.textEncoder()
        // The tiny encoder's vocabulary is 1000 tokens, so its start/end tokens replace SD's 49406/49407.
        let context = try textEncoder([CLIPTextModel.emptyPromptTokens(startToken: 998, endToken: 999)]).lastHiddenState
        let latent = vae.scaledLatent(try vae.encode(image).mean)                             // [1, 4, 64, 64] for 512²
        let predictedNoise = try unet(latent, timesteps: [981], encoderHiddenStates: context)
        let restored = try vae.decode(vae.unscaledLatent(latent))                             // [1, 3, 512, 512]
        #expect(predictedNoise.shape == latent.shape)
        #expect(restored.shape == image.shape)
    }
}
