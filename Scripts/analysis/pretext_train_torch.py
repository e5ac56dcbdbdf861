#!/usr/bin/env python3
"""Train the reference extractor (PyTorch) on a pretext dataset: a cross-check of `grain train`.

The network is Scripts/reference/extractor.py (the authors' architecture) with the SRM bank taken
from the authors' `basic` checkpoint and frozen, everything else PyTorch's default
initialisation; an 11-class head and a 1-value regression head read its 528-d feature; loss
cross-entropy + L1 on the MAE target; Adam. Images are cut into random crops, normalised with
CLIP's mean and deviation, and split into 16×16 patch tokens, as `grain train` does; 15 % of the
source photos are held out (centre crops). `--readout mean` feeds the heads the mean of all
transformer tokens instead of token 0, to test whether token 0 limits what the heads can see.

usage: pretext_train_torch.py DATASET_FOLDER [--epochs 2] [--learning-rate 1e-4] [--batch-size 16]
                              [--crop 64] [--readout token0|mean] [--threads 2]
"""
import argparse, json, os, sys, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
from extractor import LowLevelFeatureExtractor, SHARED  # noqa: E402

MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)


def tokens(pixels, crop):  # [B, 3, crop, crop] in [0, 1] -> [B, N, 3, 16, 16]
    x = (pixels - MEAN) / STD
    b, g = x.shape[0], crop // 16
    return x.reshape(b, 3, g, 16, g, 16).permute(0, 2, 4, 1, 3, 5).reshape(b, g * g, 3, 16, 16)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--readout", choices=["token0", "mean"], default="token0")
    parser.add_argument("--threads", type=int, default=2)
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    records = [json.loads(line) for line in open(os.path.join(a.dataset, "manifest.jsonl"))]
    images = torch.tensor(np.stack([np.asarray(Image.open(os.path.join(a.dataset, r["path"])).convert("RGB")) for r in records]))
    images = images.permute(0, 3, 1, 2).float() / 255
    labels = torch.tensor([r["class"] for r in records])
    targets = torch.tensor([r["mae"] for r in records], dtype=torch.float32)
    photos = sorted({r["source"] for r in records})
    rng.shuffle(photos)
    held = set(photos[: round(len(photos) * 0.15)])
    train = np.array([i for i, r in enumerate(records) if r["source"] not in held])
    test = np.array([i for i, r in enumerate(records) if r["source"] in held])

    extractor = LowLevelFeatureExtractor().train()
    from safetensors.torch import load_file
    srm = load_file(os.path.join(SHARED, "weights", "beyond-generation", "basic.safetensors"))["group1.hpf.weight"]
    extractor.group1.hpf.weight.data.copy_(srm)
    classifier, regressor = nn.Linear(528, 11), nn.Linear(528, 1)
    parameters = [p for m in (extractor, classifier, regressor) for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=a.learning_rate)
    side = images.shape[2]

    def feature(batch):
        if a.readout == "token0":
            return extractor(batch)
        record = {}
        extractor(batch, record)
        return record["transformer_out"].mean(1)

    def crops(indices, random):
        out = []
        for i in indices:
            top, left = rng.integers(0, side - a.crop + 1, 2) if random else ((side - a.crop) // 2,) * 2
            out.append(images[i, :, top:top + a.crop, left:left + a.crop])
        return tokens(torch.stack(out), a.crop)

    print(f"{len(train)} training images, {len(test)} held out ({len(held)} photos); readout {a.readout}, "
          f"Adam {a.learning_rate}, batch {a.batch_size}, {a.crop}² crops", flush=True)
    start = time.time()
    for epoch in range(1, a.epochs + 1):
        extractor.train()
        rng.shuffle(train)
        losses = []
        for s in range(0, len(train), a.batch_size):
            idx = train[s:s + a.batch_size]
            f = feature(crops(idx, True))
            loss = F.cross_entropy(classifier(f), labels[idx]) + F.l1_loss(regressor(f).reshape(-1), targets[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        extractor.eval()
        predicted, errors = [], []
        with torch.no_grad():
            for s in range(0, len(test), 64):
                idx = test[s:s + 64]
                f = feature(crops(idx, False))
                predicted.append(classifier(f).argmax(1))
                errors.append((regressor(f).reshape(-1) - targets[idx]).abs())
        predicted, truth = torch.cat(predicted).numpy(), labels[test].numpy()
        print(f"epoch {epoch}: train loss {np.mean(losses):.3f}, held-out accuracy {np.mean(predicted == truth):.3f}, "
              f"regression error {torch.cat(errors).mean():.4f}; per class "
              f"{[round(float(np.mean(predicted[truth == c] == c)), 2) for c in range(11)]}; {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
