#!/usr/bin/env bash
set -u
cd /work/main
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
O=/tmp/bench
G=.build/release/grain
W=/work/shared/weights/beyond-generation/basic.safetensors
R=/work/shared/data/dev/real
log() { echo "== $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) $*" | tee -a $O/log; }
while pgrep -f /tmp/bench/run.sh >/dev/null; do sleep 5; done
log run2-start
/usr/bin/time -v $G fit --weights $W --real $R --out $O/crops1.detector --score-crops 1 > $O/fit-crops1.out 2> $O/fit-crops1.err; log fit-crops1 $?
for round in 1 2; do
  /usr/bin/time -v $G detect --json --detector $O/crops1.detector $R > $O/detect-crops1-$round.jsonl 2> $O/detect-crops1-$round.err; log detect-crops1-$round $?
done
python3 Scripts/compare/detect_speed.py --images 16 --rounds 2 > $O/detect2.out 2> $O/detect2.err; log detect2 $?
log run2-end
