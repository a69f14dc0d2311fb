#!/usr/bin/env bash
# Gradual (iterative) channel pruning: prunes a little, fine-tunes, prunes a little more, ...
#   bash Scripts/train/iterprune.sh rec|det INIT "FRACS" STEPS [OUT_PREFIX]
# INIT is the checkpoint to start from (e.g. checkpoints/rec/student-s5b/best.pt); FRACS the share of each
# stage's binary channels pruned after each round, cumulative (e.g. "0.1 0.2 0.3 0.4": 10 % more each time;
# the trainers' prune stage keeps what was already pruned and drops the next-smallest group norms); STEPS the
# distilled fine-tune steps after each cut. Round k starts from round k-1's best.pt and writes
# OUT_PREFIX-FRAC/ (default checkpoints/<task>/iter-FRAC/); a round whose folder holds a `done` file is
# skipped, so a stopped chain restarts where it stopped. Environment: LR (default 5e-4), PY.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
task=${1:?rec or det}; init=${2:?INIT checkpoint}; fracs=${3:?FRACS}; steps=${4:?STEPS}
C=checkpoints/$task
prefix=${5:-$C/iter}
PY="${PY:-$ROOT/.venv-train/bin/python}"
if [ "$task" = rec ]; then
  script=Scripts/train/train_rec.py; extra=(--batch 32 --eval-every 250 --eval-n 500 --kd-temp 3)
else
  script=Scripts/train/train_det.py; extra=(--batch 8 --eval-every 250 --eval-n 40 --kd-weight 0.5)
fi
prev=$init
for f in $fracs; do
  out=$prefix-$f
  if [ -f "$out/done" ]; then prev=$out/best.pt; continue; fi
  resume=(--overwrite)
  [ -f "$out/last.pt" ] && resume=(--resume)
  echo "$(date +%T) iterprune: $task prune to $f, $steps steps, from $prev"
  nice -n 10 $PY $script --stage prune --out "$out" --init "$prev" --teacher $C/teacher/best.pt --prune-frac "$f" \
      --steps "$steps" --lr "${LR:-5e-4}" "${extra[@]}" --threads 1 --workers 1 --ckpt-every 50 "${resume[@]}"
  touch "$out/done"
  prev=$out/best.pt
done
echo "$(date +%T) iterprune: $task done; last: $prev"
