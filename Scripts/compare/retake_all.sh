#!/usr/bin/env bash
# Retakes every speed comparison of Documentation/Performance.md under the measurement protocol
# (Scripts/compare/measurement.py: idle wait before each round, rounds with other load marked and
# left out, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset in the benchmark processes only, kernel
# level and BLAS cores printed), and writes every script's output and one Markdown summary
# (summary.md) into a folder.
#
#     Scripts/compare/retake_all.sh [--quick] [--out FOLDER] [--allow-load]
#
# --quick: one or two rounds and smaller cases (a check that everything runs, ~10 min);
# the default takes the full rounds (about 1-2 hours on the 2-core development machine).
# Pause the other jobs first: every round waits until both cores are >= 90 % idle.
# Needs a release build (swift build -c release --product grain) and the Python references
# (torch, diffusers, transformers, scikit-learn, Pillow, threadpoolctl).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
QUICK=0
OUT=""
EXTRA=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --out) OUT="$2"; shift ;;
        --allow-load) EXTRA+=(--allow-load) ;;
        *) echo "retake_all.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
OUT="${OUT:-$ROOT/.build/retake-$(date -u +%Y%m%dT%H%MZ)}"
mkdir -p "$OUT"
GRAIN="$ROOT/.build/release/grain"
[[ -x "$GRAIN" ]] || { echo "retake_all.sh: build grain first: swift build -c release --product grain" >&2; exit 1; }

if [[ $QUICK == 1 ]]; then
    EXTRACTOR=(--patches 1024 --rounds 2 --repetitions 3)
    GMM=(--rounds 1 --iterations 5)
    DETECT=(--images 16 --rounds 1)
    SD=(--cases unet:32,vae-decode:256,clip:77 --rounds 1 --repetitions 2)
    TRAIN=(--rounds 1 --steps 10)
    OPS=(--rounds 1 --repeats 3 --skip-build)
else
    EXTRACTOR=(--patches 1024 --rounds 5 --repetitions 5)
    GMM=(--rounds 3 --iterations 10)
    DETECT=(--images 32 --rounds 3)
    SD=(--rounds 3 --repetitions 3)
    TRAIN=(--rounds 3)
    OPS=(--rounds 3 --repeats 10)
fi

run() {  # name, command...: stdout to NAME.out, stderr to NAME.err, the command to NAME.cmd
    local name="$1"; shift
    echo "== $name: $*" >&2
    printf '%q ' "$@" > "$OUT/$name.cmd"
    if "$@" > "$OUT/$name.out" 2> >(tee "$OUT/$name.err" >&2); then
        echo "== $name done" >&2
    else
        echo "== $name FAILED (see $OUT/$name.err)" >&2
    fi
}

cd "$ROOT"
"$GRAIN" runtime > "$OUT/runtime.json"
run extractor python3 "$HERE/extractor_speed.py" "${EXTRACTOR[@]}" "${EXTRA[@]}"
run gmm python3 "$HERE/gmm_speed.py" "${GMM[@]}" "${EXTRA[@]}"
run detect python3 "$HERE/detect_speed.py" "${DETECT[@]}" "${EXTRA[@]}"
run sd python3 "$HERE/sd_speed.py" "${SD[@]}" --markdown "${EXTRA[@]}"
run train python3 "$HERE/train_speed.py" "${TRAIN[@]}" "${EXTRA[@]}"
run ops python3 "$HERE/compare.py" "${OPS[@]}" "${EXTRA[@]}"
python3 "$HERE/retake_summary.py" "$OUT" > "$OUT/summary.md"
echo "retake_all.sh: tables in $OUT/summary.md" >&2
