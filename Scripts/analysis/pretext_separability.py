#!/usr/bin/env python3
"""How far apart are the 11 pretext classes of a dataset built by `grain pretext build`?

Three views of the same images, all split by source photo (no photo on both sides):
  spectra      radial band power of the images and of each level's difference from the VAE
               reconstruction (median over photos, log10): where in frequency the classes differ;
  handcrafted  logistic regression and gradient boosting on 68 high-pass statistics per image,
               6-fold cross-validation grouped by photo: a ceiling-free baseline for accuracy;
  cnn          a small PyTorch CNN (pixels + Laplacian, five convolutions, global pooling) trained on
               random crops, evaluated on held-out photos (15 %) every 5 epochs;
  baseline     the regression error of the best class-blind constant, and of "0 for the
               original, the mean otherwise".

usage: pretext_separability.py DATASET_FOLDER [spectra|handcrafted|cnn|baseline ...] [--crop 64] [--epochs 40]
Needs numpy, scipy, scikit-learn, Pillow, and torch for `cnn`.
"""
import argparse, collections, json
import numpy as np
from PIL import Image


def load(root):
    records = [json.loads(line) for line in open(f"{root}/manifest.jsonl")]
    images = [np.asarray(Image.open(f"{root}/{r['path']}").convert("RGB")).astype(np.float64) / 255 for r in records]
    groups = [r["source"] + ("/%d" % r["crop"] if "crop" in r else "") for r in records]
    return records, images, np.array([r["class"] for r in records]), np.array([r["source"] for r in records]), groups


def band_powers(gray, bands):
    n = gray.shape[0]
    power = np.abs(np.fft.fftshift(np.fft.fft2(gray - gray.mean()))) ** 2
    yy, xx = np.mgrid[:n, :n] - n // 2
    radius = np.hypot(yy, xx)
    return [power[(radius >= lo) & (radius < hi)].mean() for lo, hi in bands]


def spectra(records, images, labels, sources, groups):
    n = images[0].shape[0]
    edges = [0, n // 16, n // 8, n // 4, 3 * n // 8, n // 2 + 1]
    bands = list(zip(edges[:-1], edges[1:]))
    by_crop = collections.defaultdict(dict)
    for image, label, group in zip(images, labels, groups):
        by_crop[group][label] = image.mean(2)
    print(f"radial bands (cycles per {n} px): {bands}")
    print("class | log10 median band power of the image | of (image - VAE reconstruction)")
    for c in range(11):
        own = np.median([band_powers(d[c], bands) for d in by_crop.values()], 0)
        reference = 0 if c == 1 else 1
        diff = np.median([band_powers(d[c] - d[reference], bands) for d in by_crop.values()], 0)
        print(c, np.round(np.log10(own), 2), np.round(np.log10(diff), 2), "(vs original)" if c == 1 else "")


def statistics(image):
    from scipy import ndimage
    features = []
    for plane in [image.mean(2)] + [image[:, :, c] for c in range(3)]:
        residuals = [np.diff(plane, axis=1), np.diff(plane, axis=0), ndimage.laplace(plane),
                     plane - ndimage.uniform_filter(plane, 3), plane - ndimage.uniform_filter(plane, 5)]
        for r in residuals:
            r = r[2:-2, 2:-2]
            features += [np.log(r.std() + 1e-6), np.log(np.abs(r).mean() + 1e-6), ((r - r.mean()) ** 4).mean() / (r.var() ** 2 + 1e-12)]
    n = image.shape[0]
    edges = np.linspace(0, n // 2 + 1, 9).astype(int)
    features += list(np.log(np.array(band_powers(image.mean(2), list(zip(edges[:-1], edges[1:])))) + 1e-9))
    return features


def handcrafted(records, images, labels, sources, groups):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    x = np.array([statistics(image) for image in images])
    for name, model in [("logistic regression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))),
                        ("gradient boosting", HistGradientBoostingClassifier(max_iter=200))]:
        predicted = cross_val_predict(model, x, labels, groups=sources, cv=GroupKFold(6))
        print(f"{name}: accuracy {np.mean(predicted == labels):.3f} (chance {1 / 11:.3f}); per class",
              [round(float(np.mean(predicted[labels == c] == c)), 2) for c in range(11)],
              f"; within one level among classes 1-10: {np.mean(np.abs(predicted - labels)[labels > 0] <= 1):.3f}")


def cnn(records, images, labels, sources, groups, crop, epochs):
    import torch, torch.nn as nn
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    photos = sorted(set(sources))
    rng.shuffle(photos)
    held = set(photos[: len(photos) * 15 // 100])
    train = np.array([s not in held for s in sources])
    x = torch.tensor(np.stack(images), dtype=torch.float32).permute(0, 3, 1, 2)
    y = torch.tensor(labels)
    laplacian = torch.tensor([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=torch.float32).view(1, 1, 3, 3).repeat(3, 1, 1, 1)
    net = nn.Sequential(nn.Conv2d(6, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 11))
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    side = x.shape[2]

    def batch(indices, random):
        crops = []
        for i in indices:
            top, left = rng.integers(0, side - crop + 1, 2) if random else ((side - crop) // 2,) * 2
            crops.append(x[i, :, top:top + crop, left:left + crop])
        pixels = torch.stack(crops)
        return torch.cat([pixels * 4 - 2, nn.functional.conv2d(pixels, laplacian, padding=1, groups=3) * 10], 1)

    training, held_out = np.where(train)[0], np.where(~train)[0]
    print(f"cnn: {len(training)} training images, {len(held_out)} held out ({len(held)} photos), {crop}² crops")
    for epoch in range(1, epochs + 1):
        net.train()
        rng.shuffle(training)
        for start in range(0, len(training), 16):
            indices = training[start:start + 16]
            loss = nn.functional.cross_entropy(net(batch(indices, True)), y[indices])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % 5 == 0 or epoch == epochs:
            net.eval()
            with torch.no_grad():
                predicted = torch.cat([net(batch(held_out[s:s + 256], False)).argmax(1) for s in range(0, len(held_out), 256)]).numpy()
            truth = labels[held_out]
            print(f"epoch {epoch}: held-out accuracy {np.mean(predicted == truth):.3f}; per class",
                  [round(float(np.mean(predicted[truth == c] == c)), 2) for c in range(11)], flush=True)


def baseline(records, images, labels, sources, groups):
    targets = np.array([r["mae"] for r in records])
    best_constant = np.median(targets)
    print(f"regression target: mean {targets.mean():.4f}; best constant ({best_constant:.4f}) error {np.abs(targets - best_constant).mean():.4f}")
    others = targets[labels > 0]
    informed = np.where(labels == 0, 0.0, np.median(others))
    print(f"0 for originals, {np.median(others):.4f} otherwise: error {np.abs(targets - informed).mean():.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("views", nargs="*", default=["spectra", "handcrafted", "baseline"])
    parser.add_argument("--crop", type=int, default=64, help="CNN crop side")
    parser.add_argument("--epochs", type=int, default=40, help="CNN epochs")
    arguments = parser.parse_args()
    data = load(arguments.dataset)
    for view in arguments.views:
        print(f"== {view}")
        if view == "cnn":
            cnn(*data, crop=arguments.crop, epochs=arguments.epochs)
        else:
            globals()[view](*data)
