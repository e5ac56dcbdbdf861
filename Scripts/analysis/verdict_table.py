#!/usr/bin/env python3
"""Summarises `grain detect --json` rows of the development sets by source, as the table in
Documentation/Results.md ("Verdicts: grain fit with its defaults"): per source the count of real,
generated and uncertain verdicts, the reason codes of the uncertain ones (each code counted once
per image) and the per-file errors; then how many uncertain generated images lie below the
threshold (the two-way rule would have flagged them), and every error row.

    python3 Scripts/analysis/verdict_table.py detect.jsonl

Sources are recognised by the folder names of ../shared/data/dev and ../shared/data/dev2.
Standard library only.
"""
import collections
import json
import sys

# (row label, the folders under ../shared/data whose images it counts)
SOURCES = [
    ("dev2 camera photos (mostly JPEG)", ["dev2/real"]),
    ("dev BigGAN-deep 128²", ["dev/fake/biggan_deep_128"]),
    ("dev DALL·E mini 256²", ["dev/fake/dalle_mini"]),
    ("dev GLID-3 XL", ["dev/fake/glid3_xl"]),
    ("dev latent diffusion", ["dev/fake/latent_diffusion_txt2img"]),
    ("dev2 SDXL (Fooocus)", ["dev2/fake/sdxl_fooocus"]),
    ("dev2 Stable Diffusion 1.x/2.x (5 folders)",
     [f"dev2/fake/{name}" for name in ("sd_1.4", "sd_1.5", "sd_1.x", "sd_2.0_base", "sd_2.1_base")]),
    ("dev2 DALL·E 2, LDM, VQGAN-CLIP (4 folders)",
     [f"dev2/fake/{name}" for name in ("dalle2", "ldm_cin256", "ldm_txt2img_1.45b", "vqgan_clip")]),
    ("dev2 SDXL-Turbo, Stable Cascade", ["dev2/fake/sdxl_turbo", "dev2/fake/stable_cascade"]),
]


def in_folders(path, folders):
    return any(f"/{folder}/" in path for folder in folders)


def main():
    rows = [json.loads(line) for line in open(sys.argv[1])]
    print(len(rows), "rows")
    print("| source | images | real | generated | uncertain | reasons of the uncertain | errors |")
    print("|---|---|---|---|---|---|---|")
    counted = 0
    for label, folders in SOURCES:
        source = [row for row in rows if in_folders(row["path"], folders)]
        counted += len(source)
        verdicts = collections.Counter(row.get("verdict", "error") for row in source)
        reasons = collections.Counter(code for row in source if row.get("verdict") == "uncertain"
                                      for code in sorted({reason["code"] for reason in row["reasons"]}))
        reason_text = ", ".join(f"{code} {count}" for code, count in reasons.most_common())
        print(f"| {label} | {len(source)} | {verdicts['real']} | {verdicts['generated']} | "
              f"{verdicts['uncertain']} | {reason_text} | {verdicts['error']} |")
    print("unassigned", len(rows) - counted)
    below = [row for row in rows if "/fake/" in row["path"] and row.get("verdict") == "uncertain"
             and isinstance(row.get("logLikelihood"), float) and row["logLikelihood"] < row["threshold"]]
    print("uncertain generated below threshold", len(below))
    for row in rows:
        if "error" in row:
            print("error", row["path"], row["error"][:150])


if __name__ == "__main__":
    main()
