"""Writes Tests/DiffusionTests/Fixtures/ddim.safetensors: what diffusers' DDIMScheduler computes, for
Grain's DDIMScheduler (Sources/Diffusion) to reproduce.

    pip install torch diffusers safetensors
    python3 Scripts/reference/ddim_fixtures.py

Layout (every tensor float32 unless noted; the safetensors metadata holds JSON strings):

  metadata "configs"   {NAME: scheduler.config as diffusers serialises it (to_json_string)}
  metadata "cases"     [{name, config, steps, timestep, eta}] step cases, see below
  metadata "add_noise" [{name, config, timesteps}] add_noise cases
  metadata "loops"     [{name, config, level, timesteps}] restoration loops with a toy denoiser
  metadata "versions"  {torch, diffusers}

  NAME.betas, NAME.alphas_cumprod      [num_train_timesteps]
  NAME.final_alpha_cumprod             [1]
  NAME.timesteps.S                     int64 [S] after set_timesteps(S), S in STEP_COUNTS

  CASE.model_output, CASE.sample       [2, 4, 8, 8] inputs of step()
  CASE.variance_noise                  [2, 4, 8, 8] (only when eta > 0)
  CASE.prev_sample, CASE.pred_original_sample   outputs of step()

  ADD.original, ADD.noise, ADD.noisy   [3, 4, 8, 8]; ADD.timesteps int64 [3] (one per sample) or [1]
  LOOP.original, LOOP.noise, LOOP.restored   [2, 4, 8, 8]

The configurations: SD v1.4 (its own scheduler_config.json, written by a PNDMScheduler, loaded with
DDIMScheduler.from_config as diffusers' pipelines do) and the same with v and sample prediction;
linear betas with trailing spacing and v prediction; squaredcos_cap_v2 with linspace spacing,
set_alpha_to_one, clip_sample (range 1.5) and sample prediction; zero-terminal-SNR rescaled
scaled_linear betas with trailing spacing and dynamic thresholding.
"""
import json
import os

import diffusers
import torch
from diffusers import DDIMScheduler
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "DiffusionTests", "Fixtures", "ddim.safetensors")
STEP_COUNTS = [50, 20, 7, 1, 3, 99, 333, 999]

# CompVis/stable-diffusion-v1-4, scheduler/scheduler_config.json, verbatim.
SD14_SCHEDULER_CONFIG = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.7.0.dev0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
}

CONFIGS = {
    "sd14": DDIMScheduler.from_config(SD14_SCHEDULER_CONFIG),
    "sd14_v_prediction": DDIMScheduler.from_config(SD14_SCHEDULER_CONFIG, prediction_type="v_prediction"),
    "sd14_sample": DDIMScheduler.from_config(SD14_SCHEDULER_CONFIG, prediction_type="sample"),
    "linear_trailing_v": DDIMScheduler(
        num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
        clip_sample=False, set_alpha_to_one=False, steps_offset=0, prediction_type="v_prediction",
        timestep_spacing="trailing"),
    "cosine_linspace_sample": DDIMScheduler(
        num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", clip_sample=True,
        clip_sample_range=1.5, set_alpha_to_one=True, steps_offset=0, prediction_type="sample",
        timestep_spacing="linspace"),
    "zero_snr_thresholding": DDIMScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        clip_sample=False, set_alpha_to_one=False, steps_offset=0, prediction_type="v_prediction",
        timestep_spacing="trailing", rescale_betas_zero_snr=True, thresholding=True,
        dynamic_thresholding_ratio=0.9, sample_max_value=2.0),
}

tensors = {}
cases = []
add_noise_cases = []
generator = torch.Generator().manual_seed(0)


def randn(*shape, scale=1.0):
    return (torch.randn(shape, generator=generator) * scale).float()


for name, scheduler in CONFIGS.items():
    tensors[f"{name}.betas"] = scheduler.betas.float().contiguous()
    tensors[f"{name}.alphas_cumprod"] = scheduler.alphas_cumprod.float().contiguous()
    tensors[f"{name}.final_alpha_cumprod"] = scheduler.final_alpha_cumprod.float().reshape(1)
    for count in STEP_COUNTS:
        scheduler.set_timesteps(count)
        tensors[f"{name}.timesteps.{count}"] = scheduler.timesteps.to(torch.int64).contiguous()

    # step(): the first, a middle and the last timestep of 50 steps, deterministic and with noise;
    # the first and last of 7 steps (1000 // 7 = 142 does not divide 1000).
    scale = 2.0 if name in ("cosine_linspace_sample", "zero_snr_thresholding") else 1.0
    for count, picks in ((50, [(0, 0.0), (25, 0.0), (49, 0.0), (25, 1.0), (49, 0.3)]), (7, [(0, 0.0), (6, 0.7)])):
        scheduler.set_timesteps(count)
        for index, eta in picks:
            t = int(scheduler.timesteps[index])
            case = f"{name}.step.{count}.{t}.eta{eta}"
            model_output, sample = randn(2, 4, 8, 8, scale=scale), randn(2, 4, 8, 8, scale=scale)
            noise = randn(2, 4, 8, 8) if eta > 0 else None
            out = scheduler.step(model_output, t, sample, eta=eta, variance_noise=noise)
            tensors[f"{case}.model_output"] = model_output
            tensors[f"{case}.sample"] = sample
            if noise is not None:
                tensors[f"{case}.variance_noise"] = noise
            tensors[f"{case}.prev_sample"] = out.prev_sample.contiguous()
            tensors[f"{case}.pred_original_sample"] = out.pred_original_sample.contiguous()
            cases.append({"name": case, "config": name, "steps": count, "timestep": t, "eta": eta})

for name in ("sd14", "cosine_linspace_sample", "zero_snr_thresholding"):
    for label, timesteps in (("per_sample", [1, 500, 999]), ("shared", [261])):
        case = f"{name}.add_noise.{label}"
        original, noise = randn(3, 4, 8, 8), randn(3, 4, 8, 8)
        t = torch.tensor(timesteps, dtype=torch.int64)
        tensors[f"{case}.original"] = original
        tensors[f"{case}.noise"] = noise
        tensors[f"{case}.timesteps"] = t
        tensors[f"{case}.noisy"] = CONFIGS[name].add_noise(original, noise, t).contiguous()
        add_noise_cases.append({"name": case, "config": name, "timesteps": timesteps})

# The restoration loop of a noise level, run with diffusers' scheduler: corrupt x0 to the first of
# the last k of 50 timesteps, then x = step(toy(x, t), t, x).prev_sample for each of them. The toy
# denoiser is tanh(0.5 x + 0.001 t) * 0.8, simple to write in Swift.
def toy_denoiser(x, t):
    return torch.tanh(x * 0.5 + t * 0.001) * 0.8


loop_cases = []
for name, k in (("sd14", 1), ("sd14", 5), ("sd14", 9), ("linear_trailing_v", 9), ("cosine_linspace_sample", 4)):
    scheduler = CONFIGS[name]
    scheduler.set_timesteps(50)
    timesteps = [int(t) for t in scheduler.timesteps[-k:]]
    case = f"{name}.loop.level{k}"
    original, noise = randn(2, 4, 8, 8), randn(2, 4, 8, 8)
    x = scheduler.add_noise(original, noise, torch.tensor(timesteps[:1]))
    for t in timesteps:
        x = scheduler.step(toy_denoiser(x, t), t, x).prev_sample
    tensors[f"{case}.original"] = original
    tensors[f"{case}.noise"] = noise
    tensors[f"{case}.restored"] = x.contiguous()
    loop_cases.append({"name": case, "config": name, "level": k, "timesteps": timesteps})

metadata = {
    "configs": json.dumps({name: json.loads(s.config.to_json_string()) if hasattr(s.config, "to_json_string")
                           else json.loads(s.to_json_string()) for name, s in CONFIGS.items()}),
    "cases": json.dumps(cases),
    "add_noise": json.dumps(add_noise_cases),
    "loops": json.dumps(loop_cases),
    "versions": json.dumps({"torch": torch.__version__, "diffusers": diffusers.__version__}),
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
save_file({k: v.clone().contiguous() for k, v in tensors.items()}, OUT, metadata=metadata)
print(f"wrote {len(tensors)} tensors, {len(cases)} step cases, {len(add_noise_cases)} add_noise cases, "
      f"{len(loop_cases)} loops to {OUT}")
