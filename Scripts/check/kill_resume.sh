#!/usr/bin/env bash
# Kills `grain pretext build` with SIGKILL at random moments, resumes it each time, and checks
# that the result is byte-identical to an uninterrupted build; then checks that two shards
# merged equal the single run. Usage:
#   Scripts/check/kill_resume.sh PHOTOS_DIR DENOISER_OPTION DENOISER_PATH [KILLS] [CROP]
# e.g. Scripts/check/kill_resume.sh /tmp/photos --stable-diffusion Tests/StableDiffusionTests/Fixtures/tiny-sd 10 64
set -euo pipefail
photos=$1; option=$2; model=$3; kills=${4:-10}; crop=${5:-64}
grain=${GRAIN:-.build/release/grain}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build() { "$grain" pretext build --photos "$photos" "$option" "$model" --crop-size "$crop" --out "$1" "${@:2}" 2>/dev/null; }

start=$(date +%s.%N)
build "$work/clean"
"$grain" pretext merge --out "$work/clean" 2>/dev/null
duration=$(echo "$(date +%s.%N) - $start" | bc)
echo "clean build: ${duration}s"

# Each attempt is killed after a random delay up to a tenth of a clean build, so progress
# accumulates over several kills; stop after KILLS kills or when an attempt finishes first.
RANDOM=7
killed=0
for attempt in $(seq 1 $((kills * 5))); do
  delay=$(echo "scale=3; $duration * $RANDOM / 32768 / 10" | bc)
  # `exec` so that $! is grain itself: killing a subshell would leave grain running on.
  (exec "$grain" pretext build --photos "$photos" "$option" "$model" --crop-size "$crop" --out "$work/killed" 2>/dev/null) & pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); echo "kill $killed after ${delay}s"; wait "$pid" 2>/dev/null || true
    if pgrep -f -- "--out $work/killed" >/dev/null; then echo "a killed build is still running"; exit 1; fi
  else wait "$pid" 2>/dev/null || true; echo "attempt $attempt finished before its kill"; break; fi
  [ "$killed" -ge "$kills" ] && break
done
[ "$killed" -ge "$kills" ] || echo "note: only $killed kills landed before the build completed (use more photos)"
build "$work/killed"
"$grain" pretext merge --out "$work/killed" 2>/dev/null
if diff -r "$work/clean" "$work/killed" >/dev/null; then echo "killed and resumed build: byte-identical"; else
  echo "killed and resumed build DIFFERS"; diff -rq "$work/clean" "$work/killed" | head; exit 1; fi

build "$work/sharded" --shard 0/2
build "$work/sharded" --shard 1/2
"$grain" pretext merge --out "$work/sharded" --shards 2 2>/dev/null
if diff -r -x 'manifest-shard-*' "$work/clean" "$work/sharded" >/dev/null; then echo "two shards merged: identical to one full run"; else
  echo "two shards merged DIFFER"; diff -rq -x 'manifest-shard-*' "$work/clean" "$work/sharded" | head; exit 1; fi
