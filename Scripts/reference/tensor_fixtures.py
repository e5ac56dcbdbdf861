"""Writes Tests/TensorTests/Fixtures/torch_ops.safetensors: inputs, outputs and gradients of every
op family of Grain's Tensor layer, computed by PyTorch (float32, CPU).

For a case NAME the file holds NAME.in0, NAME.in1, … (inputs), NAME.out (output), NAME.seed (the
gradient fed to backward, shaped like the output) and NAME.grad0, … (input gradients; absent
for inputs that take none). Integer arguments (indices, targets) are stored as float32 under
NAME.int0, …. The Swift tests (TorchParityTests.swift) know which op each case is.

    pip install torch safetensors
    python3 Scripts/reference/tensor_fixtures.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "TensorTests", "Fixtures", "torch_ops.safetensors")
tensors = {}


def rand(*shape, low=-2.0, high=2.0):
    return (torch.rand(tuple(shape)) * (high - low) + low).float()


def case(name, fn, inputs, ints=(), differentiable=None):
    """Runs fn(*inputs, *ints), records inputs, output, seed and gradients."""
    differentiable = differentiable if differentiable is not None else [True] * len(inputs)
    leaves = [x.clone().requires_grad_(d) for x, d in zip(inputs, differentiable)]
    out = fn(*leaves, *ints)
    seed = rand(*out.shape, low=0.5, high=1.5)
    if any(differentiable):
        out.backward(seed)
    for i, x in enumerate(inputs):
        tensors[f"{name}.in{i}"] = x.clone().contiguous()
        if differentiable[i]:
            tensors[f"{name}.grad{i}"] = leaves[i].grad.contiguous()
    for i, v in enumerate(ints):
        tensors[f"{name}.int{i}"] = torch.as_tensor(v, dtype=torch.float32).reshape(-1)
    tensors[f"{name}.out"] = out.detach().contiguous()
    tensors[f"{name}.seed"] = seed


# Element-wise arithmetic and math
a, b = rand(2, 3, 4), rand(3, 1)
pos = rand(2, 3, 4, low=0.5, high=2.0)
case("add", torch.add, [a, b])
case("sub", torch.sub, [a, b])
case("mul", torch.mul, [a, b])
case("div", torch.div, [a, rand(3, 1, low=0.5, high=2.0)])
case("pow", torch.pow, [pos, rand(4, low=-1.0, high=2.0)])
case("pow_scalar", lambda x: x ** 1.7, [pos])
case("exp", torch.exp, [a])
case("log", torch.log, [pos])
case("sqrt", torch.sqrt, [pos])
case("rsqrt", torch.rsqrt, [pos])
case("abs", torch.abs, [a])
case("square", torch.square, [a])
case("clamp", lambda x: x.clamp(-0.7, 0.9), [a])
case("minimum", torch.minimum, [a, b])
case("maximum", torch.maximum, [a, b])
mask = (rand(2, 3, 4) > 0).float()
case("where", lambda m, x, y: torch.where(m != 0, x, y), [mask, a, b], differentiable=[False, True, True])
# Activations
x = rand(3, 5, low=-4.0, high=4.0)
case("relu", F.relu, [x])
case("gelu", F.gelu, [x])
case("gelu_tanh", lambda t: F.gelu(t, approximate="tanh"), [x])
case("quick_gelu", lambda t: t * torch.sigmoid(1.702 * t), [x])
case("silu", F.silu, [x])
case("sigmoid", torch.sigmoid, [x])
case("tanh", torch.tanh, [x])
case("hardtanh", lambda t: F.hardtanh(t, -2.0, 2.5), [x])
case("softplus", lambda t: F.softplus(t, beta=2.0, threshold=3.0), [x])
# Reductions
r = rand(3, 4, 5)
case("sum", lambda t: t.sum(dim=(0, 2)), [r])
case("mean", lambda t: t.mean(dim=1, keepdim=True), [r])
case("var", lambda t: t.var(dim=2), [r])
case("var_population", lambda t: t.var(dim=(0, 1), unbiased=False), [r])
case("amax", lambda t: t.amax(dim=1), [r])
case("amin", lambda t: t.amin(dim=(0, 2), keepdim=True), [r])
case("logsumexp", lambda t: t.logsumexp(dim=2), [r])
case("norm", lambda t: t.norm(dim=1), [r])
# Shape ops
case("permute", lambda t: t.permute(2, 0, 1), [r])
case("pad", lambda t: F.pad(t, (2, 0, 1, 2), value=0.5), [r])
case("flip", lambda t: t.flip(0, 2), [r])
case("cat", lambda s, t: torch.cat([s, t], dim=1), [rand(2, 3, 4), rand(2, 2, 4)])
case("stack", lambda s, t: torch.stack([s, t], dim=1), [rand(2, 3), rand(2, 3)])
case("index_select", lambda t, i: t.index_select(1, torch.as_tensor(i)), [r], ints=([3, 0, 3, 1],))
# Matrix products
case("matmul", torch.matmul, [rand(2, 3, 4), rand(4, 5)])
case("matmul_batched", torch.matmul, [rand(2, 1, 3, 4), rand(3, 4, 2)])
case("matmul_transposed", lambda s, t: s.transpose(-1, -2) @ t.transpose(-1, -2), [rand(4, 3), rand(5, 4)])
case("linear", F.linear, [rand(2, 3, 6), rand(4, 6), rand(4)])
# Convolutions
case("conv2d", lambda i, w, bb: F.conv2d(i, w, bb, stride=2, padding=1), [rand(2, 3, 7, 6), rand(4, 3, 3, 3), rand(4)])
case("conv2d_groups_dilation", lambda i, w: F.conv2d(i, w, None, stride=1, padding=2, dilation=2, groups=2),
     [rand(1, 4, 6, 7), rand(6, 2, 3, 3)])
case("conv2d_depthwise", lambda i, w, bb: F.conv2d(i, w, bb, padding=1, groups=3), [rand(2, 3, 5, 5), rand(3, 1, 3, 3), rand(3)])
case("conv2d_1x1", lambda i, w, bb: F.conv2d(i, w, bb), [rand(2, 5, 4, 3), rand(3, 5, 1, 1), rand(3)])
case("conv_transpose2d", lambda i, w, bb: F.conv_transpose2d(i, w, bb, stride=2, padding=1, output_padding=1),
     [rand(1, 3, 4, 5), rand(3, 2, 3, 3), rand(2)])
# Pooling and resampling
img = rand(2, 3, 7, 6)
case("avg_pool", lambda t: F.avg_pool2d(t, 3, 2, 1), [img])
case("avg_pool_ceil_exclude", lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), [img])
case("max_pool", lambda t: F.max_pool2d(t, 3, 2, 1), [img])
case("adaptive_avg_pool", lambda t: F.adaptive_avg_pool2d(t, (3, 4)), [img])
case("upsample_nearest", lambda t: F.interpolate(t, scale_factor=2, mode="nearest"), [rand(1, 2, 3, 4)])
case("upsample_bilinear", lambda t: F.interpolate(t, size=(5, 7), mode="bilinear", align_corners=False), [rand(1, 2, 3, 4)])
case("upsample_bilinear_aligned", lambda t: F.interpolate(t, size=(5, 7), mode="bilinear", align_corners=True), [rand(1, 2, 3, 4)])
# Normalisation, softmax, attention
case("layer_norm", lambda t, w, bb: F.layer_norm(t, (3, 4, 4), w, bb), [rand(2, 3, 4, 4), rand(3, 4, 4), rand(3, 4, 4)])
case("group_norm", lambda t, w, bb: F.group_norm(t, 2, w, bb), [rand(2, 4, 3, 3), rand(4), rand(4)])
case("softmax", lambda t: torch.softmax(t, dim=1), [rand(3, 5, 2)])
case("log_softmax", lambda t: torch.log_softmax(t, dim=-1), [rand(3, 5)])
attn_mask = torch.zeros(1, 1, 5, 6)
attn_mask[..., 4:] = float("-inf")
case("attention", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
     [rand(2, 2, 5, 4), rand(2, 2, 6, 4), rand(2, 2, 6, 3), attn_mask], differentiable=[True, True, True, False])
case("attention_causal", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
     [rand(1, 2, 4, 3), rand(1, 2, 4, 3), rand(1, 2, 4, 3)])
case("embedding", lambda w, i: F.embedding(torch.as_tensor(i).reshape(2, 3), w), [rand(5, 4)], ints=([4, 0, 2, 2, 1, 4],))
# Losses
logits = rand(4, 5)
targets = [1, 0, 4, 2]
case("cross_entropy", lambda t, y: F.cross_entropy(t, torch.as_tensor(y), label_smoothing=0.1), [logits], ints=(targets,))
case("nll", lambda t, y: F.nll_loss(t, torch.as_tensor(y), reduction="sum"), [torch.log_softmax(logits, 1)], ints=(targets,))
case("l1", F.l1_loss, [rand(3, 4), rand(3, 4)])
case("mse", lambda s, t: F.mse_loss(s, t, reduction="sum"), [rand(3, 4), rand(3, 4)])
case("smooth_l1", lambda s, t: F.smooth_l1_loss(s, t, beta=0.5), [rand(3, 4), rand(3, 4)])
case("bce_with_logits", lambda s, t: F.binary_cross_entropy_with_logits(s, t), [rand(3, 4, low=-5.0, high=5.0), rand(3, 4, low=0.0, high=1.0)],
     differentiable=[True, False])

os.makedirs(os.path.dirname(OUT), exist_ok=True)
save_file(tensors, OUT, metadata={"generator": "Scripts/reference/tensor_fixtures.py", "torch": torch.__version__})
print(f"wrote {len(tensors)} tensors to {os.path.relpath(OUT)}")
