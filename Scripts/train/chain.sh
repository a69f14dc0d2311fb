#!/usr/bin/env bash
# Runs the recipe's later stages one after another in the background-friendly way:
#   bash Scripts/train/chain.sh rec|det FROM_STAGE [STEPS_SCALE]
# FROM_STAGE is the first stage to run (sparse, prune, finetune or exits); each stage starts from the
# previous stage's best.pt and distils from checkpoints/<task>/teacher/best.pt. STEPS_SCALE multiplies
# the default step counts (sparse 500, prune 300, finetune 600, exits 300 for rec; half for det).
# Environment: LASSO sets the sparse stage's group-lasso weight (the trainers' default 2e-4 barely
# separated the channel norms in session 1); PRUNE_FRAC the share of channels the prune stage drops.
# The stages it runs start afresh (--overwrite): their folders' earlier checkpoints are replaced.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
task=$1; from=$2; scale=${3:-1}
PY="${PY:-$ROOT/.venv-train/bin/python}"
C=checkpoints/$task
if [ "$task" = rec ]; then
  script=Scripts/train/train_rec.py; extra="--batch 32 --eval-every 100 --eval-n 500"
  declare -A steps=([sparse]=500 [prune]=300 [finetune]=600 [exits]=300)
else
  script=Scripts/train/train_det.py; extra="--batch 8 --eval-every 100 --eval-n 40"
  declare -A steps=([sparse]=250 [prune]=150 [finetune]=300 [exits]=150)
fi
stages=(student sparse prune finetune exits)
run=0
for i in 1 2 3 4; do
  s=${stages[$i]}; prev=${stages[$((i-1))]}
  [ "$s" = "$from" ] && run=1
  [ $run = 1 ] || continue
  n=$(python3 -c "print(int(${steps[$s]} * $scale))")
  echo "$(date +%T) chain: $task $s ($n steps) from $C/$prev/best.pt"
  stage_args=()
  [ "$s" = sparse ] && [ -n "${LASSO:-}" ] && stage_args+=(--lasso "$LASSO")
  [ "$s" = prune ] && [ -n "${PRUNE_FRAC:-}" ] && stage_args+=(--prune-frac "$PRUNE_FRAC")
  nice -n 10 $PY $script --stage $s --out $C/$s --init $C/$prev/best.pt --teacher $C/teacher/best.pt \
      --steps $n $extra --threads 1 --workers 1 --ckpt-every 50 --overwrite "${stage_args[@]}"
done
echo "$(date +%T) chain: $task done"
