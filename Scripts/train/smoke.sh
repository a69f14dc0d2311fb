#!/usr/bin/env bash
# End-to-end smoke test of every stage on tiny settings (minutes on CPU): teacher -> [actbin ->] student (KD) ->
# sparse (group lasso) -> prune -> finetune -> exits, for recognizer and detector, then export with
# the numpy-reference check and golden fixtures, resume, a model file imported back into a checkpoint, and
# a two-activation-base student exported and imported back (recogniser; detector trained and exported). Writes only under $OUT (default /tmp/bitspot-smoke).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PY="${PY:-$ROOT/.venv-train/bin/python}"
OUT="${OUT:-/tmp/bitspot-smoke}"
rm -rf "$OUT"; mkdir -p "$OUT"
R="--steps 3 --batch 4 --eval-every 3 --ckpt-every 1 --threads 1 --workers 0"
$PY Scripts/train/train_rec.py --stage teacher --out $OUT/rec/teacher $R --eval-n 20
$PY Scripts/train/train_rec.py --stage teacher --out $OUT/rec/teacher $R --eval-n 20 --steps 4 --resume
prev=$OUT/rec/teacher/best.pt
for s in actbin student sparse prune finetune exits; do
  $PY Scripts/train/train_rec.py --stage $s --out $OUT/rec/$s --init $prev --teacher $OUT/rec/teacher/best.pt $R --eval-n 20
  prev=$OUT/rec/$s/best.pt
done
$PY Scripts/train/export.py $prev --out $OUT/recognizer.bitnet --golden $OUT/golden/recognizer --check-n 2
# the half-binary stages (actbin: real weights; wbin, a diagnostic: real activations) are refused by
# export: exit code 65, nothing written
$PY Scripts/train/train_rec.py --stage wbin --out $OUT/rec/wbin --init $OUT/rec/teacher/best.pt --teacher $OUT/rec/teacher/best.pt $R --eval-n 20
for s in actbin wbin; do
  rc=0; $PY Scripts/train/export.py $OUT/rec/$s/best.pt --out $OUT/$s.bitnet 2>/dev/null || rc=$?
  [ "$rc" = 65 ] && [ ! -e $OUT/$s.bitnet ] || { echo "smoke: export of $s: exit $rc" >&2; exit 1; }
done
$PY Scripts/train/eval_rec.py $OUT/rec/finetune/best.pt --compare $OUT/rec/student/best.pt --n 20 --seed 20211
# a fresh machine's road (no checkpoints): the unpruned student exported, imported back, trained on
$PY Scripts/train/export.py $OUT/rec/student/best.pt --out $OUT/student.bitnet --check-n 2
$PY Scripts/train/import_bitnet.py $OUT/student.bitnet $OUT/rec/imported.pt --calibration-batches 2
$PY Scripts/train/train_rec.py --stage student --out $OUT/rec/from-import --init $OUT/rec/imported.pt --teacher $OUT/rec/teacher/best.pt $R --eval-n 20
# two activation bases per binary block: from the one-base import (second base at weight 0); a later
# stage keeps them without the flag; exported (two sign-packs and two binary convs per block) and imported back
$PY Scripts/train/train_rec.py --stage student --act-bases 2 --out $OUT/rec/ab2 --init $OUT/rec/imported.pt --teacher $OUT/rec/teacher/best.pt $R --eval-n 20
$PY Scripts/train/train_rec.py --stage finetune --out $OUT/rec/ab2-ft --init $OUT/rec/ab2/best.pt --teacher $OUT/rec/teacher/best.pt $R --eval-n 20
$PY Scripts/train/export.py $OUT/rec/ab2-ft/best.pt --out $OUT/ab2.bitnet --check-n 2
$PY Scripts/train/import_bitnet.py $OUT/ab2.bitnet $OUT/rec/ab2-imported.pt --calibration-batches 2
$PY -c "import sys, torch; ck = torch.load(sys.argv[1], weights_only=False); assert ck['cfg'].get('act_bases') == 2, ck['cfg']" $OUT/rec/ab2-imported.pt
rc=0; $PY Scripts/train/train_rec.py --stage finetune --act-bases 1 --out $OUT/rec/ab2-drop --init $OUT/rec/ab2/best.pt $R 2>/dev/null || rc=$?
[ "$rc" = 2 ] || { echo "smoke: dropping a base: exit $rc" >&2; exit 1; }
D="--steps 2 --batch 2 --eval-every 2 --ckpt-every 1 --threads 1 --workers 0 --eval-n 3"
$PY Scripts/train/train_det.py --stage teacher --out $OUT/det/teacher $D
prev=$OUT/det/teacher/best.pt
for s in student sparse prune finetune exits; do
  $PY Scripts/train/train_det.py --stage $s --out $OUT/det/$s --init $prev --teacher $OUT/det/teacher/best.pt $D
  prev=$OUT/det/$s/best.pt
done
$PY Scripts/train/export.py $prev --out $OUT/detector.bitnet --golden $OUT/golden/detector
# a two-base detector (session 17): grown from the one-base student, scored at another input scale, exported
$PY Scripts/train/train_det.py --stage student --act-bases 2 --out $OUT/det/ab2 --init $OUT/det/student/best.pt --teacher $OUT/det/teacher/best.pt $D
$PY Scripts/train/eval_det.py $OUT/det/ab2/best.pt --n 3 --scale 1.25 > /dev/null
$PY Scripts/train/export.py $OUT/det/ab2/best.pt --out $OUT/detector-ab2.bitnet --golden $OUT/golden/detector-ab2
# the second base in blocks 0-2 only (session 19): dropped from blocks 3-5 of the two-base detector, exported,
# imported back with its per-block layout
$PY Scripts/train/train_det.py --stage finetune --act-bases 2,2,2,1,1,1 --out $OUT/det/ab-mixed --init $OUT/det/ab2/best.pt $D
$PY Scripts/train/export.py $OUT/det/ab-mixed/best.pt --out $OUT/detector-mixed.bitnet --golden $OUT/golden/detector-mixed
$PY Scripts/train/import_bitnet.py $OUT/detector-mixed.bitnet $OUT/det/mixed-imported.pt --calibration-batches 0
$PY -c "import sys, torch; ck = torch.load(sys.argv[1], weights_only=False); assert ck['cfg'].get('act_bases') == [2, 2, 2, 1, 1, 1], ck['cfg']" $OUT/det/mixed-imported.pt
# widening shortcuts without projections (session 23): from the one-base student with the projections dropped,
# distilled from a binary teacher (itself), exported with a channel map and imported back as such
$PY Scripts/train/train_det.py --stage student --shortcut dup --out $OUT/det/dup --init $OUT/det/student/best.pt --teacher $OUT/det/student/best.pt $D
grep -q "shortcut projections dropped" $OUT/det/dup/train.log || { echo "smoke: dup: projections not reported dropped" >&2; exit 1; }
$PY Scripts/train/export.py $OUT/det/dup/best.pt --out $OUT/detector-dup.bitnet --golden $OUT/golden/detector-dup
$PY Scripts/train/import_bitnet.py $OUT/detector-dup.bitnet $OUT/det/dup-imported.pt --calibration-batches 0
$PY -c "import sys, torch; ck = torch.load(sys.argv[1], weights_only=False); assert ck['cfg'].get('shortcut') == 'dup', ck['cfg']" $OUT/det/dup-imported.pt
echo "smoke OK: $OUT"
