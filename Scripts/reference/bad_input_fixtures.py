"""Writes the image variants Grain's own encoder cannot produce, for the detector's bad-input tests
(Tests/OneClassTests/Fixtures/bad-input): a CMYK JPEG and a 16-bit RGB PNG, small and deterministic.
The other bad inputs (corrupt, truncated, empty, text, RGBA, 1×1, a 30,000×30,000 header) are made by
the tests themselves.

Usage: python3 Scripts/reference/bad_input_fixtures.py
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "OneClassTests", "Fixtures", "bad-input")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(4)
    y, x = np.mgrid[0:48, 0:64]
    base = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).astype(np.float64)
    rgb = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=90)
    rgb16 = (rgb.astype(np.uint16) * 257 + rng.integers(0, 257, rgb.shape, dtype=np.uint16)).astype(">u2")
    # Pillow cannot write 16-bit RGB PNGs; write the file by hand (filter 0 on every row).
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row.tobytes() for row in rgb16)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 16, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(os.path.join(OUT, "rgb16.png"), "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main()
