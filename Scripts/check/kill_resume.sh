#!/usr/bin/env bash
# Kills `grain pretext build` and `grain train` with SIGKILL at moments spread over their whole
# run, resumes each time, and checks that the results are byte-identical to uninterrupted runs;
# then checks that two shards merged equal the single build. Usage:
#   Scripts/check/kill_resume.sh PHOTOS_DIR DENOISER_OPTION DENOISER_PATH [KILLS] [CROP] [TRAIN_KILLS] [EPOCHS]
# e.g. Scripts/check/kill_resume.sh /tmp/photos --small-denoiser run/denoiser 15 64 7 2
#
# Where the kills land. The build is timed uninterrupted first (T seconds for N photos, T/N per
# photo). Kill k of K targets build progress k/(K+1): it waits until ⌊k·N/(K+1)⌋ photos are done
# (records/*.jsonl, the last file a photo writes) and then a seeded-random part of one photo's
# time, so the kills fall evenly from the first photo to the last, each at a random stage inside
# a photo (VAE encode, DDIM steps, decodes, PNG writes); kill 0 lands while the model is loading.
# Training works the same way on its progress line ([step/total] on stderr): kill k of the
# TRAIN_KILLS waits for step ⌊k·S/(TRAIN_KILLS+1)⌋ of S and then a random part of one step, so
# the kills fall in every epoch, between checkpoints (--checkpoint-interval 3).
set -euo pipefail
photos=$1; option=$2; model=$3; kills=${4:-15}; crop=${5:-64}; train_kills=${6:-7}; epochs=${7:-2}
grain=${GRAIN:-.build/release/grain}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
build() { "$grain" pretext build --photos "$photos" "$option" "$model" --crop-size "$crop" --out "$1" "${@:2}" 2>/dev/null; }
now() { date +%s.%N; }
done_photos() { find "$1/records" -name '*.jsonl' 2>/dev/null | wc -l; }
RANDOM=7
uniform() { echo "scale=3; $1 * $RANDOM / 32768" | bc; }   # a seeded-random number in [0, $1)

start=$(now)
build "$work/clean"
duration=$(echo "$(now) - $start" | bc)
"$grain" pretext merge --out "$work/clean" 2>/dev/null
count=$(done_photos "$work/clean")
per_photo=$(echo "scale=3; $duration / $count" | bc)
echo "clean build: $count photos in ${duration}s (${per_photo}s per photo)"

# Kill 0: during start-up (loading the denoiser), before any photo is done.
(exec "$grain" pretext build --photos "$photos" "$option" "$model" --crop-size "$crop" --out "$work/killed" 2>/dev/null) & pid=$!
delay=$(uniform 0.3); sleep "$delay"; kill -9 "$pid" 2>/dev/null && echo "kill 0 after ${delay}s: $(done_photos "$work/killed")/$count photos done"
wait "$pid" 2>/dev/null || true
killed=0
for k in $(seq 1 "$kills"); do
  target=$((k * count / (kills + 1)))
  (exec "$grain" pretext build --photos "$photos" "$option" "$model" --crop-size "$crop" --out "$work/killed" 2>/dev/null) & pid=$!
  while [ "$(done_photos "$work/killed")" -lt "$target" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  delay=$(uniform "$per_photo"); sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    killed=$((killed + 1))
    stray=$(find "$work/killed" -name '.*' -type f | wc -l)
    echo "kill $k: ${delay}s after photo $target, $(done_photos "$work/killed")/$count photos done, $stray temporary file(s) left"
    if pgrep -f -- "--out $work/killed" >/dev/null; then echo "a killed build is still running"; exit 1; fi
  else wait "$pid" 2>/dev/null || true; echo "kill $k: the build finished before its kill"; fi
done
pid=
[ "$killed" -ge "$kills" ] || echo "note: only $killed of $kills kills landed before the build completed (use more photos)"
build "$work/killed"
"$grain" pretext merge --out "$work/killed" 2>/dev/null
if diff -r "$work/clean" "$work/killed" >/dev/null; then echo "killed and resumed build: byte-identical"; else
  echo "killed and resumed build DIFFERS"; diff -rq "$work/clean" "$work/killed" | head; exit 1; fi

# grain train on the built dataset, uninterrupted and killed TRAIN_KILLS times.
train() { "$grain" train --manifest "$work/clean/manifest.jsonl" --out "$1" --epochs "$epochs" --batch-size 2 \
            --crop-size 32 --checkpoint-interval 3 --validation-fraction 0.25; }
start=$(now)
train "$work/train-clean" 2>"$work/train-clean.err"
train_duration=$(echo "$(now) - $start" | bc)
step() { tr '\r' '\n' < "$1" | sed -n 's/^\[\([0-9]*\)\/\([0-9]*\)\].*/\1 \2/p' | tail -1; }
read -r _ steps <<<"$(step "$work/train-clean.err")"
per_step=$(echo "scale=3; $train_duration / $steps" | bc)
echo "clean training: $steps steps ($epochs epochs) in ${train_duration}s (${per_step}s per step)"
for k in $(seq 1 "$train_kills"); do
  target=$((k * steps / (train_kills + 1)))
  (exec "$grain" train --manifest "$work/clean/manifest.jsonl" --out "$work/train-killed" --epochs "$epochs" --batch-size 2 \
     --crop-size 32 --checkpoint-interval 3 --validation-fraction 0.25 2>"$work/train.err") & pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    read -r at _ <<<"$(step "$work/train.err") x"
    [ -n "$at" ] && [ "$at" != x ] && [ "$at" -ge "$target" ] && break
    sleep 0.05
  done
  delay=$(uniform "$per_step"); sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    read -r at _ <<<"$(step "$work/train.err")"
    echo "train kill $k: ${delay}s after step $target of $steps (epoch $((target * epochs / steps + 1))), last step shown $at"
  else wait "$pid" 2>/dev/null || true; echo "train kill $k: training finished before its kill"; fi
done
pid=
train "$work/train-killed" 2>/dev/null
if diff -r "$work/train-clean" "$work/train-killed" >/dev/null; then
  echo "killed and resumed training: checkpoints, metrics.csv and extractor byte-identical"; else
  echo "killed and resumed training DIFFERS"; diff -rq "$work/train-clean" "$work/train-killed" | head; exit 1; fi

build "$work/sharded" --shard 0/2
build "$work/sharded" --shard 1/2
"$grain" pretext merge --out "$work/sharded" --shards 2 2>/dev/null
if diff -r -x 'manifest-shard-*' "$work/clean" "$work/sharded" >/dev/null; then echo "two shards merged: identical to one full run"; else
  echo "two shards merged DIFFER"; diff -rq -x 'manifest-shard-*' "$work/clean" "$work/sharded" | head; exit 1; fi
