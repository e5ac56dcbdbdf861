"""The lever comparison of Documentation/Results.md ("One measured recommendation"): one row per
`grain evaluate` report, one column per bias-audit setting (pooled AUC with its photo-level
bootstrap 95 % interval, from audit.json), and the real test photos' false-positive rate at the
calibrated threshold on the original files (from metrics.json).

    python3 Scripts/analysis/lever_table.py NAME=REPORT_FOLDER ...

Standard library only.
"""
import json
import os
import sys


def main(pairs):
    reports = [pair.split("=", 1) for pair in pairs]
    settings = None
    lines = []
    for name, folder in reports:
        audit = json.load(open(os.path.join(folder, "audit.json")))
        rows = {row["setting"]: row for row in audit["rows"]}
        if settings is None:
            settings = [row["setting"] for row in audit["rows"]]
            lines.append("| lever | " + " | ".join(settings) + " | real FPR at threshold (original) | uncertain: real / generated |")
            lines.append("|---" * (len(settings) + 3) + "|")
        cells = []
        for setting in settings:
            row = rows.get(setting)
            cells.append("–" if row is None else f"{row['areaUnderCurve']:.3f} [{row['interval'][0]:.3f}, {row['interval'][1]:.3f}]")
        fpr = "–"
        shares = "–"
        sources = audit.get("realSources", [])
        if sources:
            flagged = sum(s["falsePositiveCount"] for s in sources)
            total = sum(s["sampleCount"] for s in sources)
            fpr = f"{flagged}/{total} = {flagged / total:.3f}"
        verdicts_path = os.path.join(folder, "verdicts.json")
        if os.path.exists(verdicts_path):
            verdicts = json.load(open(verdicts_path))["rows"]
            original = [row for row in verdicts if row["setting"] == "original"]
            real = [row for row in original if row["isReal"]]
            fake = [row for row in original if not row["isReal"]]
            def share(rows):
                total = sum(r["realCount"] + r["generatedCount"] + r["uncertainCount"] for r in rows)
                return sum(r["uncertainCount"] for r in rows), total
            ru, rt = share(real)
            fu, ft = share(fake)
            shares = f"{ru}/{rt} / {fu}/{ft}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {fpr} | {shares} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
