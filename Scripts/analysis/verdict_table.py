#!/usr/bin/env python3
"""Summarises `grain detect --json` rows of the development sets by source, as the table in
Documentation/Results.md ("Verdicts: grain fit with its defaults"): per source the count of real,
generated and uncertain verdicts, the reason codes of the uncertain ones (each code counted once
per image) and the per-file errors; then how many uncertain generated images lie below the
threshold (the two-way rule would have flagged them), and every error row.

    python3 Scripts/analysis/verdict_table.py detect.jsonl

Sources are recognised by the folder names of ../shared/data/dev and ../shared/data/dev2.
"""
import json, collections, sys
groups = [
 ("dev2 camera photos (mostly JPEG)", lambda p: "/dev2/real/" in p),
 ("dev BigGAN-deep 128²", lambda p: "/dev/fake/biggan_deep_128/" in p),
 ("dev DALL·E mini 256²", lambda p: "/dev/fake/dalle_mini/" in p),
 ("dev GLID-3 XL", lambda p: "/dev/fake/glid3_xl/" in p),
 ("dev latent diffusion", lambda p: "/dev/fake/latent_diffusion_txt2img/" in p),
 ("dev2 SDXL (Fooocus)", lambda p: "/dev2/fake/sdxl_fooocus/" in p),
 ("dev2 Stable Diffusion 1.x/2.x (5 folders)", lambda p: any(f"/dev2/fake/{g}/" in p for g in ["sd_1.4","sd_1.5","sd_1.x","sd_2.0_base","sd_2.1_base"])),
 ("dev2 DALL·E 2, LDM, VQGAN-CLIP (4 folders)", lambda p: any(f"/dev2/fake/{g}/" in p for g in ["dalle2","ldm_cin256","ldm_txt2img_1.45b","vqgan_clip"])),
 ("dev2 SDXL-Turbo, Stable Cascade", lambda p: any(f"/dev2/fake/{g}/" in p for g in ["sdxl_turbo","stable_cascade"])),
]
rows=[json.loads(l) for l in open(sys.argv[1])]
print(len(rows), "rows")
print("| source | images | real | generated | uncertain | reasons of the uncertain | errors |")
print("|---|---|---|---|---|---|---|")
used=0
for name, f in groups:
    rs=[r for r in rows if f(r["path"])]; used+=len(rs)
    c=collections.Counter(r.get("verdict","error") for r in rs)
    reasons=collections.Counter()
    for r in rs:
        if r.get("verdict")=="uncertain":
            for code in sorted(set(x["code"] for x in r["reasons"])): reasons[code]+=1
    rtext=", ".join(f"{k} {v}" for k,v in reasons.most_common())
    print(f"| {name} | {len(rs)} | {c['real']} | {c['generated']} | {c['uncertain']} | {rtext} | {c['error']} |")
print("unassigned", len(rows)-used)
below=[r for r in rows if "/fake/" in r["path"] and r.get("verdict")=="uncertain" and isinstance(r.get("logLikelihood"),float) and r["logLikelihood"]<r["threshold"]]
print("uncertain generated below threshold", len(below))
for r in rows:
    if "error" in r: print("error", r["path"], r["error"][:150])
