"""Paired bootstrap of the AUC difference between two `grain evaluate` reports on the same test
images (Documentation/Results.md, "Paired differences"): for every setting of the reports, the
AUC of each, their difference B − A, and its 95 % interval from resampling the real and the
generated test samples (one by one, with replacement, the same draw for both reports).

    python3 Scripts/analysis/paired_auc.py REPORT_A/scores.csv REPORT_B/scores.csv [--replicates 2000] [--seed 0]

A real photo is one sample when images are scored whole (the reports of Results.md), so this is
the photo-level bootstrap there. Standard library only.
"""
import argparse
import csv
import random


def load(path):
    scores = {}
    for row in csv.DictReader(open(path)):
        scores.setdefault(row["setting"], {})[(row["source"], row["sample"])] = float(row["log_likelihood"])
    return scores


def area_under_curve(real, generated):
    """P(a real score > a generated score), ties counted half: real photos score higher."""
    total = 0.0
    for x in real:
        for y in generated:
            total += 1.0 if x > y else 0.5 if x == y else 0.0
    return total / (len(real) * len(generated))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--replicates", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    a, b = load(args.a), load(args.b)
    generator = random.Random(args.seed)
    low_index, high_index = int(0.025 * args.replicates) - 1, int(0.975 * args.replicates) - 1
    for setting in a:
        if set(a[setting]) != set(b.get(setting, {})):
            raise SystemExit(f"{setting}: the two reports do not score the same samples")
        keys = sorted(a[setting])
        real = [k for k in keys if k[0] == "real"]
        generated = [k for k in keys if k[0] != "real"]
        def auc(scores, real_keys, generated_keys):
            return area_under_curve([scores[k] for k in real_keys], [scores[k] for k in generated_keys])
        auc_a, auc_b = auc(a[setting], real, generated), auc(b[setting], real, generated)
        differences = []
        for _ in range(args.replicates):
            real_draw = [generator.choice(real) for _ in real]
            generated_draw = [generator.choice(generated) for _ in generated]
            differences.append(auc(b[setting], real_draw, generated_draw) - auc(a[setting], real_draw, generated_draw))
        differences.sort()
        print(f"{setting:34s} A {auc_a:.3f}  B {auc_b:.3f}  B-A {auc_b - auc_a:+.3f}  "
              f"paired 95% [{differences[low_index]:+.3f}, {differences[high_index]:+.3f}]")


if __name__ == "__main__":
    main()
