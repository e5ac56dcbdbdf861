#!/usr/bin/env bash
# Quiet benchmark run 6 (issue 15 / 13). Waits for an idle machine; OPENBLAS overrides unset here only.
set -u
cd /work/main
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
O=/tmp/bench
G=.build/release/grain
W=/work/shared/weights/beyond-generation/basic.safetensors
R=/work/shared/data/dev/real
log() { echo "== $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) $*" | tee -a $O/log; }
log start
python3 Scripts/compare/extractor_speed.py --patches 1024 --rounds 3 --repetitions 3 > $O/extractor.out 2> $O/extractor.err; log extractor $?
python3 Scripts/compare/detect_speed.py --images 16 --rounds 2 > $O/detect.out 2> $O/detect.err; log detect $?
# fit costs: default, with --augment, with --score-crops 8
for v in default augment crops8; do
  case $v in
    default) extra=() ;;
    augment) extra=(--augment jpeg:70-100@0.5,downscale:0.5-1@0.5) ;;
    crops8) extra=(--score-crops 8) ;;
  esac
  log fit-$v
  /usr/bin/time -v $G fit --weights $W --real $R --out $O/$v.detector "${extra[@]}" > $O/fit-$v.out 2> $O/fit-$v.err; log fit-$v $?
done
for round in 1 2; do
  for v in default crops8; do
    /usr/bin/time -v $G detect --json --detector $O/$v.detector $R > $O/detect-$v-$round.jsonl 2> $O/detect-$v-$round.err; log detect-$v-$round $?
  done
done
python3 Scripts/compare/train_speed.py --rounds 3 --steps 20 > $O/train.out 2> $O/train.err; log train $?
log end
