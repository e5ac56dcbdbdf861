"""Random-weight Stable Diffusion v1.4 parts as diffusers folders, with the outputs diffusers and
transformers compute from them: the fixtures Grain's U-Net, VAE and CLIP text encoder
(Sources/NN/StableDiffusion) must reproduce.

    pip install diffusers transformers accelerate safetensors
    python3 Scripts/reference/sd_fixtures.py            # tiny configurations, committed
    python3 Scripts/reference/sd_fixtures.py --full DIR # full SD v1.4 size (~4.3 GB), not committed

No Stable Diffusion weights are downloaded: every model is built from its configuration and its
parameters are redrawn from a seeded generator (weights ~ N(0, 1/fan_in), norm scales ~ 1 ± 0.1,
biases ~ N(0, 0.1²)), so activations stay of order one through every block.

Tiny mode writes Tests/StableDiffusionTests/Fixtures/:

  tiny-sd/unet/          config.json, diffusion_pytorch_model.safetensors (fp32) and
                         diffusion_pytorch_model.fp16.safetensors (the `fp16` variant), written by
                         diffusers' save_pretrained. block_out_channels (16, 32), down
                         CrossAttnDownBlock2D + DownBlock2D, up UpBlock2D + CrossAttnUpBlock2D,
                         layers_per_block 1, cross_attention_dim 32, attention_head_dim 4,
                         norm_num_groups 8.
  tiny-sd/vae/           the same files; block_out_channels (8, 16, 16), layers_per_block 1,
                         norm_num_groups 4, latent_channels 4.
  tiny-sd/text_encoder/  config.json; model.safetensors in the layout Stable Diffusion v1.4
                         publishes (keys under `text_model.`, plus the int64
                         `text_model.embeddings.position_ids` buffer older transformers saved);
                         model.fp16.safetensors as transformers >= 5 writes it (no `text_model.`
                         prefix). hidden 32, 2 layers, 4 heads, MLP 37, vocab 1000, 77 positions,
                         quick-GELU, bos 998 / eos 999 (the tiny vocabulary's stand-ins for 49406
                         and 49407).
  tiny_sd_io.safetensors inputs and outputs (float32; token ids as int64):
    clip.input_ids [3, 77]              row 0 the empty prompt [bos, eos x 76], rows 1-2 random
                                        prompts padded with eos
    clip.last_hidden_state [3, 77, 32], clip.pooler_output [3, 32]
    clip_fp16.last_hidden_state         the same from the fp16 variant's weights (computed in fp32)
    unet.sample [2, 4, 8, 8], unet.timesteps [2] (981, 1), unet.encoder_hidden_states [2, 77, 32]
                                        (CLIP rows 0-1), unet.output [2, 4, 8, 8]
    unet.odd_sample [1, 4, 5, 7], unet.odd_timesteps [1] (500), unet.odd_encoder_hidden_states
                                        [1, 77, 32], unet.odd_output: a size that is not a
                                        multiple of 2, so diffusers forwards the skips' sizes to
                                        the upsamplers
    unet_fp16.output                    unet.sample through the fp16 variant's weights
    vae.image [2, 3, 32, 32] in [-1, 1], vae.posterior_mean / vae.posterior_logvar
                                        (clamped to [-30, 20]) / vae.posterior_std [2, 4, 8, 8],
    vae.noise, vae.sample = mean + std * noise, vae.reconstruction = decode(mean) [2, 3, 32, 32],
    vae.latent [2, 4, 8, 8], vae.decoded = decode(latent)
    vae_fp16.decoded                    vae.latent through the fp16 variant's weights
  sd_v1_4_parameters.json  {"unet"|"vae"|"text_encoder": [[key, shape], ...]}: every tensor of the
                         full SD v1.4 configurations as diffusers/transformers build them (on the
                         meta device: nothing allocated), text encoder keys under `text_model.` as
                         SD v1.4's published file has them (without its position_ids buffer).

Full mode writes DIR/sd-v1-4-random/{unet,vae,text_encoder} (fp32, the SD v1.4 configurations as
published) and DIR/full_io.safetensors: clip.input_ids (the empty prompt) and
clip.last_hidden_state [1, 77, 768]; unet.sample [1, 4, 32, 32], unet.timesteps (981),
unet.encoder_hidden_states (that CLIP output), unet.output; vae.latent [1, 4, 32, 32],
vae.decoded [1, 3, 256, 256]. Grain's opt-in test (GRAIN_FULL_SD_CHECK=1) runs this mode.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import save_file

import diffusers
import transformers
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "StableDiffusionTests", "Fixtures")

TINY_UNET = dict(
    sample_size=8, in_channels=4, out_channels=4,
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(16, 32), layers_per_block=1, cross_attention_dim=32,
    attention_head_dim=4, norm_num_groups=8,
)
TINY_VAE = dict(
    in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 3,
    up_block_types=["UpDecoderBlock2D"] * 3, block_out_channels=(8, 16, 16), layers_per_block=1,
    latent_channels=4, norm_num_groups=4, sample_size=32,
)
TINY_CLIP = dict(
    vocab_size=1000, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
    max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=32,
    bos_token_id=998, eos_token_id=999, pad_token_id=999,
)

# Stable Diffusion v1.4's published configurations (CompVis/stable-diffusion-v1-4).
FULL_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True, freq_shift=0,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, downsample_padding=1, mid_block_scale_factor=1,
    act_fn="silu", norm_num_groups=32, norm_eps=1e-5, cross_attention_dim=768, attention_head_dim=8,
)
FULL_VAE = dict(
    in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
    up_block_types=["UpDecoderBlock2D"] * 4, block_out_channels=(128, 256, 512, 512), layers_per_block=2,
    act_fn="silu", latent_channels=4, sample_size=512,
)
FULL_CLIP = dict(
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
    max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=768,
    bos_token_id=0, eos_token_id=2, pad_token_id=1,
)


@torch.no_grad()
def randomize(model, generator):
    """Redraws every parameter: weights ~ N(0, 1/fan_in), norm scales 1 ± 0.1, other 1-d ~ N(0, 0.01)."""
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            fan_in = p[0].numel()
            p.copy_(torch.randn(p.shape, generator=generator) / fan_in ** 0.5)
        elif "norm" in name and name.endswith("weight"):
            p.copy_(1 + 0.1 * torch.randn(p.shape, generator=generator))
        else:
            p.copy_(0.1 * torch.randn(p.shape, generator=generator))
    model.eval()
    return model


def halved(model):
    """A float32 copy of `model` whose weights went through float16 (what the fp16 variant holds)."""
    copy = CLIPTextModel(model.config) if isinstance(model, CLIPTextModel) else type(model).from_config(model.config)
    copy.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    return copy.eval()


def save_diffusers(model, folder):
    """config.json, the fp32 file and the fp16 variant, as diffusers writes them."""
    model.save_pretrained(folder, safe_serialization=True)
    half = type(model).from_config(model.config)
    half.load_state_dict(model.state_dict())
    half.half().save_pretrained(folder, safe_serialization=True, variant="fp16")


def save_text_encoder(model, folder, legacy_layout, fp16_variant):
    """config.json and model.safetensors. With `legacy_layout`, the fp32 file has SD v1.4's
    published layout (`text_model.` keys and the position_ids buffer); the fp16 variant is what
    the installed transformers writes."""
    model.save_pretrained(folder, safe_serialization=True)
    if legacy_layout:
        state = {("text_model." + k if not k.startswith("text_model.") else k): v.contiguous()
                 for k, v in model.state_dict().items()}
        positions = model.config.max_position_embeddings
        state["text_model.embeddings.position_ids"] = torch.arange(positions, dtype=torch.int64).unsqueeze(0)
        save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    if fp16_variant:
        half = CLIPTextModel(model.config)
        half.load_state_dict(model.state_dict())
        half.half().save_pretrained(folder, safe_serialization=True, variant="fp16")
        if not os.path.exists(os.path.join(folder, "model.fp16.safetensors")):
            sys.exit("transformers did not write model.fp16.safetensors")


def clip_outputs(model, ids):
    out = model(input_ids=ids)
    return out.last_hidden_state, out.pooler_output


def unet_output(model, sample, timesteps, context):
    return model(sample, timesteps, encoder_hidden_states=context).sample


def full_parameter_list(out_dir):
    from accelerate import init_empty_weights
    with init_empty_weights():
        models = {"unet": UNet2DConditionModel(**FULL_UNET), "vae": AutoencoderKL(**FULL_VAE),
                  "text_encoder": CLIPTextModel(CLIPTextConfig(**FULL_CLIP))}
    listing = {}
    for part, model in models.items():
        prefix = "text_model." if part == "text_encoder" else ""
        listing[part] = [[(k if k.startswith(prefix) else prefix + k), list(v.shape)]
                         for k, v in model.state_dict().items()]
    with open(os.path.join(out_dir, "sd_v1_4_parameters.json"), "w") as f:
        json.dump(listing, f, separators=(",", ":"))
        f.write("\n")
    for part, entries in listing.items():
        count = sum(int(torch.tensor(shape).prod()) if shape else 1 for _, shape in entries)
        print(f"{part}: {len(entries)} tensors, {count:,} parameters")


def tiny(out_dir):
    g = torch.Generator().manual_seed(20250605)
    folder = os.path.join(out_dir, "tiny-sd")
    io = {}

    clip = randomize(CLIPTextModel(CLIPTextConfig(**TINY_CLIP)), g)
    ids = torch.full((3, 77), TINY_CLIP["eos_token_id"], dtype=torch.int64)
    ids[:, 0] = TINY_CLIP["bos_token_id"]
    ids[1, 1:6] = torch.randint(0, 998, (5,), generator=g)
    ids[2, 1:40] = torch.randint(0, 998, (39,), generator=g)
    io["clip.input_ids"] = ids
    hidden, pooled = clip_outputs(clip, ids)
    io["clip.last_hidden_state"], io["clip.pooler_output"] = hidden, pooled
    io["clip_fp16.last_hidden_state"] = clip_outputs(halved(clip), ids)[0]
    save_text_encoder(clip, os.path.join(folder, "text_encoder"), legacy_layout=True, fp16_variant=True)

    unet = randomize(UNet2DConditionModel(**TINY_UNET), g)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    timesteps = torch.tensor([981, 1])
    context = hidden[:2].detach().clone()
    io["unet.sample"], io["unet.timesteps"], io["unet.encoder_hidden_states"] = sample, timesteps.float(), context
    io["unet.output"] = unet_output(unet, sample, timesteps, context)
    odd = torch.randn(1, 4, 5, 7, generator=g)
    io["unet.odd_sample"], io["unet.odd_timesteps"] = odd, torch.tensor([500.0])
    io["unet.odd_encoder_hidden_states"] = hidden[2:3].detach().clone()
    io["unet.odd_output"] = unet_output(unet, odd, torch.tensor([500]), hidden[2:3])
    io["unet_fp16.output"] = unet_output(halved(unet), sample, timesteps, context)
    save_diffusers(unet, os.path.join(folder, "unet"))

    vae = randomize(AutoencoderKL(**TINY_VAE), g)
    image = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    posterior = vae.encode(image).latent_dist
    noise = torch.randn(posterior.mean.shape, generator=g)
    latent = torch.randn(2, 4, 8, 8, generator=g)
    io["vae.image"] = image
    io["vae.posterior_mean"], io["vae.posterior_logvar"], io["vae.posterior_std"] = \
        posterior.mean, posterior.logvar, posterior.std
    io["vae.noise"], io["vae.sample"] = noise, posterior.mean + posterior.std * noise
    io["vae.reconstruction"] = vae.decode(posterior.mean).sample
    io["vae.latent"], io["vae.decoded"] = latent, vae.decode(latent).sample
    io["vae_fp16.decoded"] = halved(vae).decode(latent).sample
    save_diffusers(vae, os.path.join(folder, "vae"))

    save_file({k: v.detach().contiguous() for k, v in io.items()}, os.path.join(out_dir, "tiny_sd_io.safetensors"),
              metadata={"diffusers": diffusers.__version__, "transformers": transformers.__version__,
                        "torch": torch.__version__})
    full_parameter_list(out_dir)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out_dir) for f in fs)
    print(f"wrote {out_dir} ({total / 1e6:.2f} MB)")


def full(out_dir):
    torch.set_num_threads(max(1, torch.get_num_threads()))
    g = torch.Generator().manual_seed(14)
    folder = os.path.join(out_dir, "sd-v1-4-random")
    io = {}
    with torch.no_grad():
        clip = randomize(CLIPTextModel(CLIPTextConfig(**FULL_CLIP)), g)
        ids = torch.tensor([[49406] + [49407] * 76])
        io["clip.input_ids"] = ids
        io["clip.last_hidden_state"] = clip(input_ids=ids).last_hidden_state
        save_text_encoder(clip, os.path.join(folder, "text_encoder"), legacy_layout=True, fp16_variant=False)
        del clip

        unet = randomize(UNet2DConditionModel(**FULL_UNET), g)
        sample = torch.randn(1, 4, 32, 32, generator=g)
        io["unet.sample"], io["unet.timesteps"] = sample, torch.tensor([981.0])
        io["unet.encoder_hidden_states"] = io["clip.last_hidden_state"]
        io["unet.output"] = unet_output(unet, sample, torch.tensor([981]), io["clip.last_hidden_state"])
        unet.save_pretrained(os.path.join(folder, "unet"), safe_serialization=True)
        del unet

        vae = randomize(AutoencoderKL(**FULL_VAE), g)
        latent = torch.randn(1, 4, 32, 32, generator=g)
        io["vae.latent"], io["vae.decoded"] = latent, vae.decode(latent).sample
        vae.save_pretrained(os.path.join(folder, "vae"), safe_serialization=True)
        del vae
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out_dir, "full_io.safetensors"))
    print(f"wrote {folder} and {os.path.join(out_dir, 'full_io.safetensors')}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", metavar="DIR", help="write the full-size random SD v1.4 folder into DIR")
    parser.add_argument("--output", default=FIXTURES, help="tiny mode: the fixtures folder")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.full:
        full(args.full)
    else:
        tiny(args.output)


if __name__ == "__main__":
    main()
