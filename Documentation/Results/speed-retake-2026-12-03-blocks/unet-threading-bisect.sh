#!/usr/bin/env bash
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
cd /work/main
for round in 1 2; do
  for v in before after current; do
    case $v in before) G=/tmp/wt-before/.build/release/grain;; after) G=/tmp/wt-after/.build/release/grain;; current) G=/work/main/.build/release/grain;; esac
    for size in 32 64; do
      echo "== $v $size round $round load $(cut -d' ' -f1 /proc/loadavg)" >> /tmp/unet/log
      /usr/bin/time -f "wall %e user %U sys %S" $G benchmark-sd --part unet --size $size --repetitions 3 >> /tmp/unet/log 2>> /tmp/unet/log.err
      tail -1 /tmp/unet/log.err >> /tmp/unet/log
    done
  done
done
echo end >> /tmp/unet/log
