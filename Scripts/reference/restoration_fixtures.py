"""Writes Tests/DiffusionTests/Fixtures/tiny_sd_restoration.safetensors: level-k restorations of one
image by diffusers' own components (the tiny random-weight SD folder written by sd_fixtures.py,
DDIMScheduler with SD v1.4's configuration and 50 steps) in the loop of DESIGN.md §6, with the
corruption noise given, for Grain's RestorationPipeline to reproduce.

    pip install torch diffusers transformers safetensors
    python3 Scripts/reference/restoration_fixtures.py
"""
import os

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextModel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
TINY = os.path.join(ROOT, "Tests", "StableDiffusionTests", "Fixtures", "tiny-sd")
OUT = os.path.join(ROOT, "Tests", "DiffusionTests", "Fixtures", "tiny_sd_restoration.safetensors")

torch.manual_seed(0)
unet = UNet2DConditionModel.from_pretrained(os.path.join(TINY, "unet"), torch_dtype=torch.float32).eval()
vae = AutoencoderKL.from_pretrained(os.path.join(TINY, "vae"), torch_dtype=torch.float32).eval()
text = CLIPTextModel.from_pretrained(os.path.join(TINY, "text_encoder"), torch_dtype=torch.float32).eval()
scheduler = DDIMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                          clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon",
                          timestep_spacing="leading")
scheduler.set_timesteps(50)
config = text.config
tokens = torch.tensor([[config.bos_token_id] + [config.eos_token_id] * (config.max_position_embeddings - 1)])
out = {}
with torch.no_grad():
    empty = text(tokens).last_hidden_state
    y, x = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    image = torch.stack([x, y, (x * y) ** 0.5]).unsqueeze(0) * 0.8 + 0.1 * torch.rand(1, 3, 32, 32)
    out["image"] = image.contiguous()
    latents = vae.encode(image * 2 - 1).latent_dist.mean * vae.config.scaling_factor
    out["latents"] = latents.contiguous()
    out["reconstruction"] = (vae.decode(latents / vae.config.scaling_factor).sample * 0.5 + 0.5).clamp(0, 1).contiguous()
    for level in (1, 5, 9):
        timesteps = scheduler.timesteps[-level:]
        noise = torch.randn(latents.shape)
        sample = scheduler.add_noise(latents, noise, timesteps[:1])
        for t in timesteps:
            eps = unet(sample, t, encoder_hidden_states=empty).sample
            sample = scheduler.step(eps, t, sample, eta=0.0).prev_sample
        restored = (vae.decode(sample / vae.config.scaling_factor).sample * 0.5 + 0.5).clamp(0, 1)
        out[f"level{level}.noise"] = noise.contiguous()
        out[f"level{level}.latents"] = sample.contiguous()
        out[f"level{level}.restored"] = restored.contiguous()
save_file(out, OUT, metadata={"generator": "Scripts/reference/restoration_fixtures.py"})
print(f"wrote {len(out)} tensors to {os.path.relpath(OUT)}")
