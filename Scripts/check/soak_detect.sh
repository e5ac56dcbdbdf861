#!/usr/bin/env bash
# A soak of `grain detect --json`: COUNT inputs (the dev images under distinct names, with bad files
# mixed in) through one run, checking exactly one row per input and that memory stays flat (peak
# RSS, VmHWM from /proc, at 1,000 rows and at the end); then RESUME_COUNT of the inputs through a
# run killed KILLS times with SIGKILL and resumed with --skip-done each time (after one kill a torn
# half row is appended, as a writer cut mid-line would leave), whose rows must equal the
# uninterrupted run's (sorted). Usage:
#   Scripts/check/soak_detect.sh COUNT [RESUME_COUNT] [KILLS] [DETECTOR]
# e.g. Scripts/check/soak_detect.sh 10000 2000 7      (quick: Scripts/check/soak_detect.sh 200 100 3)
# Inputs are symlinks named in-NNNNN-KIND.EXT in a temporary folder; one in 20 is bad, in turn:
# truncated (the first 2,000 bytes of an image), empty, text named .jpg, and a JPEG named .png or a
# PNG named .jpg (wrong extension: the decoder goes by content, so these should be judged).
# Without DETECTOR one is fitted first: the shared basic weights, 1 diagonal component on 100
# random 32² crops of each of 12 dev real photos, at most 4 patches per image (stored in the
# detector, so each image costs at most 4 patches in detect: the soak measures the batch — files,
# rows, memory, resume — not the extractor, which a 19,200-patch cap would make take hours here).
set -euo pipefail
count=$1; resume_count=${2:-$count}; kills=${3:-7}; detector=${4:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
grain=${GRAIN:-$root/.build/release/grain}
data=${GRAIN_DATA:-$root/../shared/data}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
RANDOM=11

# Sources: the dev images of at most SOAK_MAX_KB kilobytes (default 200: the generated images and
# the smaller photos; the 4-megapixel photos would make a 10,000-input soak take hours on a shared
# 2-core machine, and decoding them is not what a soak of the batch is about).
mapfile -t sources < <(find "$data/dev" "$data/dev2" -type f \( -name '*.png' -o -name '*.jpg' -o -name '*.jpeg' \) -size -"${SOAK_MAX_KB:-200}"k | sort)
[ "${#sources[@]}" -gt 0 ] || { echo "no images under $data/dev and $data/dev2"; exit 1; }
if [ -z "$detector" ]; then
  mkdir -p "$work/fit"
  find "$data/dev/real" -type f \( -name '*.png' -o -name '*.jpg' \) | sort | head -12 | while read -r f; do ln -s "$(realpath "$f")" "$work/fit/"; done
  detector=$work/detector.safetensors
  "$grain" fit --real "$work/fit" --out "$detector" --components 1 --covariance diagonal \
    --crops-per-image 100 --crop-size 32 --maximum-patches 4 --seed 1 > "$work/fit.out" 2>/dev/null
  echo "fitted a detector: $(grep -m1 -o 'fitted on [^,;]*' "$work/fit.out" || tail -1 "$work/fit.out")"
fi

# COUNT inputs, cycling over the dev images; every 20th a bad file.
mkdir -p "$work/inputs"
bad=0
for ((i = 0; i < count; i++)); do
  source=${sources[$((i % ${#sources[@]}))]}
  ext=${source##*.}; name=$(printf 'in-%05d' "$i")
  if ((i % 20 == 19)); then
    bad=$((bad + 1))
    case $(((i / 20) % 4)) in
      0) head -c 2000 "$source" > "$work/inputs/$name-truncated.$ext" ;;
      1) : > "$work/inputs/$name-empty.png" ;;
      2) echo "this is not an image" > "$work/inputs/$name-text.jpg" ;;
      3) if [ "$ext" = png ]; then other=jpg; else other=png; fi; ln -s "$source" "$work/inputs/$name-renamed.$other" ;;
    esac
  else
    ln -s "$source" "$work/inputs/$name-good.$ext"
  fi
done
find "$work/inputs" -mindepth 1 | sort > "$work/inputs.txt"
echo "inputs: $count ($bad bad: truncated, empty, text, wrong extension in turn), from ${#sources[@]} dev images"

# Peak RSS of process $1 (kB), the high-water mark so far.
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || true; }
rows() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

# The uninterrupted soak, sampled every half second.
start=$(date +%s)
nice -n 10 /usr/bin/time -v -o "$work/time.txt" "$grain" detect --detector "$detector" --json --skip-done "$work/clean.jsonl" \
  "$work/inputs" 2>"$work/clean.err" & timer=$!
sleep 0.2; pid=$(pgrep -P "$timer" | head -1)
at1k=; last=; last_rows=0
while kill -0 "$pid" 2>/dev/null; do
  now_rows=$(rows "$work/clean.jsonl"); now_hwm=$(hwm "$pid")
  [ -n "$now_hwm" ] && { last=$now_hwm; last_rows=$now_rows; }
  [ -z "$at1k" ] && [ "$now_rows" -ge 1000 ] && [ -n "$now_hwm" ] && { at1k=$now_hwm; at1k_rows=$now_rows; }
  sleep 0.5
done
wait "$timer" || true
pid=
elapsed=$(($(date +%s) - start))
max_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
total=$(rows "$work/clean.jsonl")
unique=$(python3 -c 'import json,sys; print(len({json.loads(l)["path"] for l in open(sys.argv[1])}))' "$work/clean.jsonl")
python3 -c 'import json,sys; [print(json.loads(l)["path"]) for l in open(sys.argv[1])]' "$work/clean.jsonl" | sort > "$work/paths.txt"
errors=$(grep -c '"error"' "$work/clean.jsonl" || true)
echo "uninterrupted: $total rows for $count inputs ($unique distinct paths), $((total - errors)) verdicts, $errors error rows, in ${elapsed}s; $(tail -1 "$work/clean.err")"
for kind in good truncated empty text renamed; do
  n=$(grep -c -- "-$kind\." "$work/inputs.txt" || true); e=$(grep -- "-$kind\." "$work/clean.jsonl" | grep -c '"error"' || true)
  [ "$n" -gt 0 ] && echo "  $kind: $n inputs, $e error rows"
done
[ -n "$at1k" ] && echo "peak RSS (VmHWM): $((at1k / 1024)) MiB at $at1k_rows rows, $((last / 1024)) MiB at $last_rows rows; $((max_rss / 1024)) MiB at exit (time -v)"
[ "$total" -eq "$count" ] && [ "$unique" -eq "$count" ] && cmp -s "$work/paths.txt" "$work/inputs.txt" \
  || { echo "FAILED: not exactly one row per input"; exit 1; }
echo "exactly one row per input"

# Killed and resumed: the first RESUME_COUNT inputs, in a folder of their own.
mkdir -p "$work/resume"
head -n "$resume_count" "$work/inputs.txt" | while read -r f; do cp -P "$f" "$work/resume/"; done
results=$work/killed.jsonl
per_image=$(echo "scale=3; $elapsed / $count + 0.05" | bc)
for k in $(seq 1 "$kills"); do
  target=$((k * resume_count / (kills + 1)))
  (exec nice -n 10 "$grain" detect --detector "$detector" --json --skip-done "$results" "$work/resume" 2>>"$work/killed.err") & pid=$!
  while [ "$(rows "$results")" -lt "$target" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  delay=$(echo "scale=3; $per_image * $RANDOM / 32768" | bc); sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    note=
    if [ "$k" -eq 3 ]; then printf '{"path":"%s/in-torn","logLikeli' "$work/resume" >> "$results"; note=", then a torn half row appended"; fi
    echo "kill $k: ${delay}s after row $target, $(rows "$results") complete rows$note"
  else wait "$pid" 2>/dev/null || true; echo "kill $k: the run finished before its kill"; fi
done
pid=
nice -n 10 "$grain" detect --detector "$detector" --json --skip-done "$results" "$work/resume" 2>>"$work/killed.err" || true
grep -q "dropped a partial last line" "$work/killed.err" && echo "a resumed run dropped the torn row: $(grep -m1 -o 'dropped a partial last line ([0-9]* bytes)' "$work/killed.err")"
# The uninterrupted run's rows for the same inputs, with the folder renamed.
grep -F -f <(head -n "$resume_count" "$work/inputs.txt" | sed 's|.*/|/|; s|$|"|') "$work/clean.jsonl" | sed "s|$work/inputs/|DIR/|g" | sort > "$work/expected.txt"
sed "s|$work/resume/|DIR/|g" "$results" | sort > "$work/got.txt"
if cmp -s "$work/expected.txt" "$work/got.txt" && [ "$(wc -l < "$work/got.txt")" -eq "$resume_count" ]; then
  echo "killed $kills times and resumed: $(wc -l < "$work/got.txt") rows, identical to the uninterrupted run's (sorted)"
else
  echo "FAILED: the killed and resumed rows differ from the uninterrupted run's"; diff "$work/expected.txt" "$work/got.txt" | head; exit 1
fi
