#!/usr/bin/env bash
# Regenerates every committed artifact, report and figure made from the
# default model, saved_models/cbam_relu4_1/model.keras. Run it (from
# anywhere) after shipping a new default model, then update the figures the
# README, docs/results.md and the model card quote from what it prints and
# writes, and commit what it lists at the end.
#
#   1. tools/regenerate_web_demo.sh (SavedModels, TF.js models, fidelity,
#      screenshot; without its in-browser benchmark unless BENCHMARK=1)
#   2. held-out reconstruction of the default model (the model card, README "Training")
#   3. reports/eval: the README's Results run (100 pairs, Gatys on 4), and
#      the issue-9 targets checked against it
#   4. reports/saliency_v2: attention maps against the SOD masks, then the
#      region modes (matte IoU, CIEDE2000 where the photo is kept)
#   5. docs/figure_relu4_1.png, docs/sheet.png, docs/sheet_foreground.jpg,
#      docs/sheet_background.jpg, docs/lotus_candy.png (the quick start's output)
#   6. the figures tests/test_end_to_end.py quotes in brackets
#   7. the tiled-against-untiled figures of the README's "Large photos"
#
#   bash tools/regenerate_results.sh [STEP ...]   (default: all, in this order;
#   steps: web_demo held_out results saliency figures end_to_end tiling)
#
# Each step's output goes to the terminal and to $LOG_DIR/<step>.log
# (default: a new temporary folder, printed at the start), with its wall time.
# About 75 minutes on our 2-core CPU, most of it the Results run.
#
# Needs: what tools/regenerate_web_demo.sh needs, plus the eval extra
# (onnxruntime) and ../shared (eval set, SOD, the Magenta peer).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
export TF_CPP_MIN_LOG_LEVEL=2
LOG_DIR="${LOG_DIR:-$(mktemp -d)}"
mkdir -p "$LOG_DIR"
echo "logs: $LOG_DIR"
tcs() { "$PYTHON" -m tf_cbam_style "$@"; }

step() {
  local name="$1"; shift
  local start=$SECONDS
  echo "== $name"
  "$@" 2>&1 | tee "$LOG_DIR/$name.log"
  echo "== $name: $((SECONDS - start)) s" | tee -a "$LOG_DIR/times.txt"
}

web_demo() {
  if [ -n "${BENCHMARK:-}" ]; then bash tools/regenerate_web_demo.sh
  else SKIP_BENCHMARK=1 bash tools/regenerate_web_demo.sh; fi
}
held_out() {
  tcs reconstruct --data ../shared/data/eval/content --model saved_models/cbam_relu4_1/model.keras
}
results() {
  tcs evaluate --max-contents 20 --max-styles 5 --size 384 \
      --methods cbam,self_attention,adain,wct,style_swap,magenta,gatys \
      --gatys-iterations 100 --gatys-max-pairs 4 --cell-size 128 -o reports/eval --overwrite --quiet
  "$PYTHON" tools/quality_targets.py reports/eval/pairs.csv
}
saliency() {
  tcs saliency --data ../shared/data/saliency/SOD --max-images 60 --size 320 -o reports/saliency_v2 --overwrite
  tcs saliency --data ../shared/data/saliency/SOD --max-images 60 --size 320 --measure regions \
      --models cbam_relu4_1 self_attention_relu4_1 --style ../shared/data/eval/style/candy.jpg \
      -o reports/saliency_v2 --overwrite
}
figures() {
  tcs paper-figure --depths relu4_1 \
      --contents ../shared/data/eval/content/{bird,brad_pitt,cornell,golden_gate,lotus,sailboat}.jpg \
      --max-contents 6 --style ../shared/data/eval/style/candy.jpg --size 256 -o docs --overwrite
  tcs sheet --contents examples/content --styles examples/style -o docs/sheet.png --attention --overwrite
  tcs sheet --contents examples/content --styles examples/style/candy.jpg examples/style/udnie.jpg \
      -o docs/sheet_foreground.jpg --size 192 --attention --region foreground --overwrite
  tcs sheet --contents examples/content --styles examples/style/candy.jpg examples/style/udnie.jpg \
      -o docs/sheet_background.jpg --size 192 --attention --region background --overwrite
  tcs stylize examples/content/lotus.jpg examples/style/candy.jpg -o docs/lotus_candy.png --overwrite
}
end_to_end() {
  "$PYTHON" tools/end_to_end_figures.py
}
tiling() {
  "$PYTHON" tools/tiling_consistency.py ../shared/data/eval/content/golden_gate.jpg \
      examples/style/candy.jpg --size 1024 --tile-size 512
}

ALL_STEPS=(web_demo held_out results saliency figures end_to_end tiling)
steps=("${@:-${ALL_STEPS[@]}}")
for name in "${steps[@]}"; do  # all checked before any runs
  [[ " ${ALL_STEPS[*]} " == *" $name "* ]] || { echo "unknown step: $name (steps: ${ALL_STEPS[*]})" >&2; exit 2; }
done
for name in "${steps[@]}"; do step "$name" "$name"; done
cat "$LOG_DIR/times.txt"
echo "Now update the quoted figures and commit: saved_models/*/1 web_demo reports/eval reports/saliency_v2 docs/*.png docs/*.jpg"
