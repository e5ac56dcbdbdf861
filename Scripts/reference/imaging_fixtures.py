"""Writes the Pillow reference fixtures of Grain's Imaging layer into Tests/ImagingTests/Fixtures.

The Swift tests decode, resize and encode the same inputs and compare with what Pillow does:

  synthetic/*.png, *.jpg   small images this script makes (committed): PNG colour types and bit
                           depths the dev set lacks (16-bit, palette + tRNS, grey + alpha, 1/2/4-bit
                           grey, Adam7 interlacing, written by a tiny PNG writer so every variant is
                           exact), and JPEGs in each chroma subsampling, progressive, grey and CMYK.
  decode.json              per input: Pillow's `Image.open(p).convert("RGB")` size, SHA-256 of its
                           `tobytes()`, and a 24×24 grid of sampled pixels (to report the largest
                           difference when the hash differs). Dev-set inputs are named `dev:<path>`
                           and read from ../shared/data/dev, which is never copied into the repo.
  resize.json              `Image.resize((w, h), BILINEAR/BICUBIC/...)` of synthetic/gradient.png
                           and of two dev-set images: size, hash and a 12×12 grid of samples.
  encode.json              SHA-256 and length of `img.save(buf, "JPEG", quality=q[, subsampling=s])`.

    pip install pillow
    python3 Scripts/reference/imaging_fixtures.py
    python3 Scripts/reference/imaging_fixtures.py --all-dev /tmp/dev_parity.json   # every dev file

`--all-dev` writes decode fixtures for every image of the dev set to the given file (outside the
repo); the Swift test `devSetParityReport` reads it when GRAIN_DEV_PARITY_FIXTURES names it.
"""
import argparse
import base64
import hashlib
import io
import json
import os
import random
import struct
import warnings
import zlib

import PIL
from PIL import Image, features

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "Tests", "ImagingTests", "Fixtures")
SYNTHETIC = os.path.join(OUT, "synthetic")
DEV = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "dev"))
GRID = 24  # sampled pixels per axis in decode fixtures
RESIZE_GRID = 12

# Dev-set files whose decoding is checked: JPEGs covering 4:2:0, 4:2:2 and 4:4:4, baseline and
# progressive, odd sizes, grey, files with and without JFIF/ICC/EXIF; PNGs from each source.
DEV_FILES = [
    "real/grace_hopper.jpg",                                     # 512x600 4:2:0 baseline
    "real/skimage_rocket.jpg",                                   # 640x427 4:4:4 baseline, ICC
    "real/mate-backgrounds_GreenMeadow.jpg",                     # 4:2:0 progressive
    "real/mate-backgrounds_FreshFlower.jpg",                     # 1600x1203 4:2:0 progressive
    "real/lomiri-wallpapers-16.04_Picture_1A_by_freespace.jpg",  # 1365x1074 4:4:4 progressive
    "real/mate-backgrounds_Dune.jpg",                            # 4:2:2 baseline
    "real/mate-backgrounds_Wood.jpg",                            # 4:2:2, EXIF but no JFIF
    "real/plasma_ColorfulCups_2560x1600.jpg",                    # 4:2:2 progressive, ICC
    "real/lomiri-wallpapers-16.04_Picture_0B_by_freespace.jpg",  # 2572x1740 4:2:0 progressive
    "real/plasma_Grey_2560x1600.jpg",                            # greyscale
    "real/kodim01.png",
    "real/skimage_chelsea.png",                                  # 451x300
    "fake/biggan_deep_128/bgfork_cat2dog_change_class_by_gumbel_cat2dog_16_0.png",
    "fake/latent_diffusion_txt2img/imagen_calm-psychedelic-41369943_ldif-4.png",
]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def grid(size, count=GRID):
    """Evenly spread sample positions over 0..<size (as the Swift tests compute them)."""
    return [(i * (size - 1)) // max(count - 1, 1) for i in range(count)]


def describe(img, count=GRID):
    """Size, hash and a count×count grid of sampled pixels of an RGB image."""
    assert img.mode == "RGB"
    w, h = img.size
    xs, ys = grid(w, count), grid(h, count)
    px = img.load()
    samples = bytearray()
    for y in ys:
        for x in xs:
            samples.extend(px[x, y])
    return {"width": w, "height": h, "sha256": sha256(img.tobytes()),
            "samples": base64.b64encode(bytes(samples)).decode()}


def decode(path):
    with Image.open(path) as im:
        return im.convert("RGB")


# --- A small PNG writer, so every colour type / bit depth / interlace variant is exact. ---

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def pack_row(samples, depth):
    """Packs a row of integer samples at `depth` bits, big-endian, MSB first."""
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        bits += depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def filter_rows(rows, bpp, seed):
    """Applies a rotating choice of the five PNG filters (to exercise every unfilter path)."""
    out, previous = bytearray(), bytes(len(rows[0])) if rows else b""
    for i, row in enumerate(rows):
        kind = (i + seed) % 5
        f = bytearray()
        for j, x in enumerate(row):
            a = row[j - bpp] if j >= bpp else 0
            b = previous[j]
            c = previous[j - bpp] if j >= bpp else 0
            if kind == 0:
                p = 0
            elif kind == 1:
                p = a
            elif kind == 2:
                p = b
            elif kind == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            f.append((x - p) & 0xFF)
        out.append(kind)
        out.extend(f)
        previous = row
    return bytes(out)


def write_png(path, width, height, color_type, depth, pixels, palette=None, trns=None, interlace=False):
    """pixels[y][x] is a tuple of channel samples (or a palette index for type 3)."""
    channels = CHANNELS[color_type]
    bpp = max(1, channels * depth // 8)

    def rows_of(xs, ys):
        rows = []
        for y in ys:
            samples = []
            for x in xs:
                value = pixels[y][x]
                samples.extend(value if isinstance(value, tuple) else (value,))
            rows.append(pack_row(samples, depth))
        return rows

    if interlace:
        raw = b""
        for n, (x0, y0, dx, dy) in enumerate(ADAM7):
            xs, ys = list(range(x0, width, dx)), list(range(y0, height, dy))
            if xs and ys:
                raw += filter_rows(rows_of(xs, ys), bpp, n)
    else:
        raw = filter_rows(rows_of(range(width), range(height)), bpp, 0)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        png += chunk(b"PLTE", b"".join(bytes(entry) for entry in palette))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def synthetic_images():
    """Makes the committed synthetic inputs; returns their names."""
    os.makedirs(SYNTHETIC, exist_ok=True)
    rng = random.Random(20250601)
    names = []

    def noise(maximum):
        return rng.randrange(maximum + 1)

    def make(name, width, height, color_type, depth, value, **kwargs):
        pixels = [[value(x, y) for x in range(width)] for y in range(height)]
        write_png(os.path.join(SYNTHETIC, name), width, height, color_type, depth, pixels, **kwargs)
        names.append(name)

    # The resize / encode source: smooth gradients, an edge and some noise.
    def gradient(x, y):
        edge = 60 if (x - 20) ** 2 + (y - 18) ** 2 < 120 else 0
        return (min(255, x * 4 + noise(12)), min(255, y * 5 + edge), min(255, 128 + ((x * y) % 97) - 48 + noise(8)))
    make("gradient.png", 64, 48, 2, 8, gradient)
    make("rgb8_interlaced.png", 37, 29, 2, 8, lambda x, y: (noise(255), (x * 7) & 255, (y * 9) & 255), interlace=True)
    make("rgb16.png", 23, 17, 2, 16, lambda x, y: (noise(65535), x * 2800, y * 3900))
    make("rgba8.png", 19, 13, 6, 8, lambda x, y: (x * 13, y * 19, noise(255), noise(255)))
    make("rgba16_interlaced.png", 21, 15, 6, 16, lambda x, y: (noise(65535), noise(65535), x * 3000, y * 4000), interlace=True)
    make("grey1.png", 29, 11, 0, 1, lambda x, y: (x + y) % 3 == 0)
    make("grey2_interlaced.png", 13, 9, 0, 2, lambda x, y: (x + 2 * y) % 4, interlace=True)
    make("grey4.png", 17, 7, 0, 4, lambda x, y: (x * 3 + y) % 16)
    make("grey8_trns.png", 16, 12, 0, 8, lambda x, y: (x * 16 + y) & 255, trns=struct.pack(">H", 32))
    make("grey16.png", 32, 8, 0, 16, lambda x, y: (x * 8 + y) if y < 4 else noise(65535))
    make("greyalpha8.png", 15, 10, 4, 8, lambda x, y: (x * 17, noise(255)))
    make("greyalpha16.png", 15, 10, 4, 16, lambda x, y: (noise(65535), noise(65535)))
    palette = [(noise(255), noise(255), noise(255)) for _ in range(200)]
    make("palette8_trns.png", 24, 16, 3, 8, lambda x, y: (x * 7 + y * 3) % 200, palette=palette,
         trns=bytes(noise(255) for _ in range(50)))
    make("palette4_interlaced.png", 19, 14, 3, 4, lambda x, y: (x + y) % 16, palette=palette[:16], interlace=True)
    make("palette1.png", 20, 6, 3, 1, lambda x, y: (x // 3 + y) % 2, palette=[(10, 20, 30), (200, 150, 100)])
    # Indices past the end of PLTE: Pillow maps them to black.
    make("palette_short.png", 12, 5, 3, 8, lambda x, y: (x * 23 + y * 41) % 256, palette=palette[:5])

    # JPEGs as Pillow writes them (odd sizes, so edge blocks and chroma padding are exercised).
    with Image.open(os.path.join(SYNTHETIC, "gradient.png")) as im:
        source = im.convert("RGB")
    odd = source.resize((61, 45), Image.Resampling.BICUBIC)
    for name, kwargs in [
        ("q90_420.jpg", dict(quality=90)),
        ("q85_422.jpg", dict(quality=85, subsampling=1)),
        ("q95_444.jpg", dict(quality=95, subsampling=0)),
        ("q80_420_progressive.jpg", dict(quality=80, progressive=True)),
        ("q75_422_progressive.jpg", dict(quality=75, subsampling=1, progressive=True)),
    ]:
        odd.save(os.path.join(SYNTHETIC, name), "JPEG", **kwargs)
        names.append(name)
    odd.convert("L").save(os.path.join(SYNTHETIC, "grey_q85.jpg"), "JPEG", quality=85)
    names.append("grey_q85.jpg")
    odd.convert("CMYK").save(os.path.join(SYNTHETIC, "cmyk_q90.jpg"), "JPEG", quality=90)
    names.append("cmyk_q90.jpg")
    return names


def main():
    warnings.simplefilter("ignore", UserWarning)  # Pillow's note on palette images with tRNS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all-dev", metavar="OUT", help="write decode fixtures for every dev-set image to OUT")
    args = parser.parse_args()
    provenance = {"pillow": PIL.__version__, "libjpeg_turbo": features.version("libjpeg_turbo"),
                  "zlib": features.version("zlib")}

    if args.all_dev:
        entries = []
        for folder, _, files in sorted(os.walk(DEV)):
            for name in sorted(files):
                if name.lower().endswith((".jpg", ".jpeg", ".png")):
                    rel = os.path.relpath(os.path.join(folder, name), DEV)
                    entries.append({"file": "dev:" + rel, **describe(decode(os.path.join(DEV, rel)))})
        with open(args.all_dev, "w") as f:
            json.dump({"provenance": provenance, "images": entries}, f)
        print(f"wrote {len(entries)} entries to {args.all_dev}")
        return

    os.makedirs(OUT, exist_ok=True)
    names = synthetic_images()
    decode_entries = [{"file": "synthetic/" + n, **describe(decode(os.path.join(SYNTHETIC, n)))} for n in names]
    if os.path.isdir(DEV):
        for rel in DEV_FILES:
            decode_entries.append({"file": "dev:" + rel, **describe(decode(os.path.join(DEV, rel)))})
    else:
        print(f"warning: {DEV} is absent; dev-set fixtures not written")
    with open(os.path.join(OUT, "decode.json"), "w") as f:
        json.dump({"provenance": provenance, "images": decode_entries}, f, indent=1)

    filters = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
               "box": Image.Resampling.BOX, "hamming": Image.Resampling.HAMMING,
               "lanczos": Image.Resampling.LANCZOS}
    resize_entries = []
    source = decode(os.path.join(SYNTHETIC, "gradient.png"))
    sizes = [(32, 24), (17, 13), (100, 75), (64, 20), (5, 48), (7, 3), (1, 1), (131, 97)]
    for name, flt in filters.items():
        for w, h in sizes:
            out = source.resize((w, h), flt)
            resize_entries.append({"file": "synthetic/gradient.png", "filter": name, **describe(out, RESIZE_GRID)})
    if os.path.isdir(DEV):
        for rel, (w, h) in [("real/grace_hopper.jpg", (224, 262)), ("real/mate-backgrounds_Dune.jpg", (333, 208))]:
            image = decode(os.path.join(DEV, rel))
            for name in ("bilinear", "bicubic"):
                out = image.resize((w, h), filters[name])
                resize_entries.append({"file": "dev:" + rel, "filter": name, **describe(out, RESIZE_GRID)})
    with open(os.path.join(OUT, "resize.json"), "w") as f:
        json.dump({"provenance": provenance, "cases": resize_entries}, f, indent=1)

    encode_entries = []
    for label, image in [("gradient.png", source), ("gradient.png:L", source.convert("L"))]:
        for quality, subsampling in [(75, None), (95, None), (90, 0), (85, 1), (50, 2)]:
            if image.mode == "L" and subsampling is not None:
                continue
            buffer = io.BytesIO()
            kwargs = {"quality": quality}
            if subsampling is not None:
                kwargs["subsampling"] = subsampling
            image.save(buffer, "JPEG", **kwargs)
            data = buffer.getvalue()
            encode_entries.append({"file": "synthetic/" + label, "quality": quality,
                                   "subsampling": 2 if subsampling is None else subsampling,
                                   "length": len(data), "sha256": sha256(data)})
    with open(os.path.join(OUT, "encode.json"), "w") as f:
        json.dump({"provenance": provenance, "cases": encode_entries}, f, indent=1)
    print(f"wrote {len(decode_entries)} decode, {len(resize_entries)} resize, {len(encode_entries)} encode fixtures")


if __name__ == "__main__":
    main()
