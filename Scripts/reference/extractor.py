"""PyTorch reference implementation of the Beyond Generation low-level feature extractor.

Written for Grain from the architecture described in ../../../shared/DESIGN.md §3 (the module
names are the checkpoint keys of the authors' release), to generate fixtures and to compare speed
with the Swift implementation. It loads the authors' checkpoints (.pth or .safetensors).

    python3 Scripts/reference/extractor.py --check            # parity with the authors' fixtures
    python3 Scripts/reference/extractor.py --bench 1024       # forward time on 1,024 patches
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared"))


class HighPassBank(nn.Module):
    """The 30 fixed SRM filters, applied to each colour channel separately."""

    def __init__(self):
        super().__init__()
        self.hpf = nn.Conv2d(1, 30, 5, padding=2, bias=False)
        self.hpf.weight.requires_grad_(False)

    def forward(self, x):  # [P, 3, H, W] -> [P, 90, H, W], channel-major
        p, c, h, w = x.shape
        y = self.hpf(x.reshape(p * c, 1, h, w))
        return y.reshape(p, c * 30, h, w)


def conv_stack(count, size, pool):
    layers = []
    for _ in range(count):
        layers += [nn.Conv2d(32, 32, 3, padding=1), nn.LayerNorm([32, size, size]), nn.ReLU()]
    if pool:
        layers.append(nn.AvgPool2d(3, 2, 1))
    return nn.Sequential(*layers)


class Attention(nn.Module):
    def __init__(self, dim=528, heads=4, head_dim=16):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.to_qkv = nn.Linear(dim, 3 * heads * head_dim, bias=False)
        self.to_out = nn.Sequential(nn.Linear(heads * head_dim, dim), nn.Dropout(0.0))

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, n, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        attn = torch.softmax(q @ k.transpose(-1, -2) * self.head_dim ** -0.5, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, self.heads * self.head_dim)
        return self.to_out(out)


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm, self.fn = nn.LayerNorm(dim), fn

    def forward(self, x):
        return self.fn(self.norm(x))


class Transformer(nn.Module):
    def __init__(self, dim=528, depth=2, mlp=128):
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(depth):
            ff = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp, dim), nn.Dropout(0.0))
            self.layers.append(nn.ModuleList([PreNorm(dim, Attention(dim)), PreNorm(dim, _Net(ff))]))

    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


class _Net(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def covariance_pool(x):  # [P, C, h, w] -> [P, C, C]
    p, c, h, w = x.shape
    m = h * w
    x = x.reshape(p, c, m)
    i_hat = (-1.0 / m / m) * torch.ones(m, m, dtype=x.dtype) + (1.0 / m) * torch.eye(m, dtype=x.dtype)
    return x @ i_hat @ x.transpose(1, 2)


def newton_schulz_sqrt(a, iterations=5):  # [P, C, C] -> [P, C, C]
    p, c, _ = a.shape
    eye3 = 3.0 * torch.eye(c, dtype=a.dtype).expand(p, c, c)
    trace = a.diagonal(dim1=1, dim2=2).sum(-1).reshape(p, 1, 1)
    y = a / trace
    z = torch.eye(c, dtype=a.dtype).expand(p, c, c)
    for _ in range(iterations - 1):
        t = 0.5 * (eye3 - z @ y)
        y, z = y @ t, t @ z
    y = 0.5 * y @ (eye3 - z @ y)
    return y * trace.sqrt()


def upper_triangle(x):  # [P, C, C] -> [P, C(C+1)/2]
    c = x.shape[-1]
    rows, cols = torch.triu_indices(c, c)
    return x[:, rows, cols]


class LowLevelFeatureExtractor(nn.Module):
    def __init__(self):
        super().__init__()
        self.group1 = HighPassBank()
        self.group1_b = nn.Sequential(nn.Conv2d(90, 32, 3, padding=1), nn.LayerNorm([32, 16, 16]), nn.Hardtanh(-5, 5))
        self.group2 = conv_stack(4, 16, True)
        self.group3 = conv_stack(2, 8, True)
        self.group4 = conv_stack(2, 4, True)
        self.group5 = conv_stack(2, 2, False)
        self.transformer = Transformer()
        self.fc = nn.Linear(528, 7)

    def forward(self, tokens, record=None):  # [B, N, 3, 16, 16] -> [B, 528]
        b, n = tokens.shape[:2]
        x = tokens.reshape(b * n, 3, 16, 16)
        steps = [("srm", self.group1), ("group1_b", self.group1_b), ("group2", self.group2),
                 ("group3", self.group3), ("group4", self.group4), ("group5", self.group5),
                 ("covpool", covariance_pool), ("sqrtm", newton_schulz_sqrt), ("triuvec", upper_triangle)]
        for name, step in steps:
            x = step(x)
            if record is not None:
                record[name] = x.reshape(-1, 30, 16, 16) if name == "srm" else x
        x = x.reshape(b, n, 528)
        if record is not None:
            record["transformer_in"] = x
        x = self.transformer(x)
        if record is not None:
            record["transformer_out"] = x
        return x[:, 0]


def load(path):
    model = LowLevelFeatureExtractor()
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        state = load_file(path)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def check():
    from safetensors.torch import load_file
    model = load(os.path.join(SHARED, "weights/beyond-generation/basic.safetensors"))
    fx = load_file(os.path.join(SHARED, "fixtures/beyond-generation/basic_intermediates_crop64.safetensors"))
    record = {}
    with torch.no_grad():
        out = model(fx["input"], record)
    record["output"] = out
    worst = 0.0
    for key, value in record.items():
        ref = fx[key]
        diff = (value - ref).abs().max().item()
        rel = diff / max(ref.abs().max().item(), 1e-12)
        worst = max(worst, rel)
        print(f"{key:16s} {tuple(value.shape)} max abs {diff:.3e} rel (to max) {rel:.3e}")
    feats = load_file(os.path.join(SHARED, "fixtures/beyond-generation/basic_features.safetensors"))
    for k in sorted(feats):
        if k.endswith(".patches"):
            name = k[: -len(".patches")]
            with torch.no_grad():
                f = model(feats[k].unsqueeze(0))[0]
            ref = feats[name + ".feature"]
            print(f"{name}: feature max abs {(f - ref).abs().max().item():.3e}")
    return worst


def bench(patches, threads):
    torch.set_num_threads(threads)
    model = load(os.path.join(SHARED, "weights/beyond-generation/basic.safetensors"))
    x = torch.randn(1, patches, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(x)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t)
    best = min(times)
    print(json.dumps({"patches": patches, "threads": threads, "seconds": best, "patches_per_second": patches / best}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--bench", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.check:
        check()
    if args.bench:
        bench(args.bench, args.threads)
