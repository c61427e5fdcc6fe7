#!/usr/bin/env bash
# Regenerates the web demo's committed artifacts from the shipped CBAM model.
# Run it (from anywhere) whenever saved_models/cbam_relu4_1/model.keras, the
# pipeline or the exporters change, then commit what it lists at the end.
#
#   1. saved_models/*/1/                every committed TF Serving SavedModel (with warm-up
#                                       requests)
#   2. web_demo/model/                  TF.js graph model, float16 weights in <= 4 MB shards,
#                                       options.json (the page's defaults, from options.py) and
#                                       conversion.json (source SavedModel and its sha256)
#      web_demo/fidelity.json           none/float16/uint8 in Node.js (wasm) vs the SavedModel
#      web_demo/models/<name>/          the same for every other model of web_demo/models.json
#                                       (the page's Model menu; today cbam_relu3_1), from
#                                       saved_models/<name>/1, with web_demo/fidelity_<name>.json
#   3. web_demo/screenshot.png          headless Chromium driving the page (all three region
#                                       settings; the shot shows the default run)
#   4. the tests that the committed artifacts agree (-k committed)
#   5. the in-browser timings the README quotes (skip with SKIP_BENCHMARK=1)
#
# Needs: the package with the serving extra in .venv (or PYTHON=/path/to/python),
# tensorflow-serving-api (warm-up requests), Node.js 18+, Debian's chromium, and the
# TF.js converter virtualenv (created on first use: ~3 GB in ~/.cache/tf_cbam_style).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
export TF_CPP_MIN_LOG_LEVEL=2

# Every committed SavedModel, so that none keeps an older pipeline's graph.
for version in saved_models/*/1; do
  "$PYTHON" -m tf_cbam_style export saved-model "$(dirname "$version")/model.keras" --overwrite
done
"$PYTHON" -m tf_cbam_style export tfjs saved_models/cbam_relu4_1 --out web_demo/model \
    --quantization float16 --overwrite \
    --report web_demo/fidelity.json --report-quantizations none,float16,uint8
others="$("$PYTHON" -c "import json; print(' '.join(m['name'] for m in json.load(open('web_demo/models.json'))['models'][1:]))")"
for name in $others; do
  "$PYTHON" -m tf_cbam_style export tfjs "saved_models/$name" --out "web_demo/models/$name" \
      --quantization float16 --overwrite --report "web_demo/fidelity_$name.json"
done
(cd web_demo && npm ci)
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT
node tests/browser/stylize.mjs --out "$run" --screenshot "$run/screenshot.png"
# 960 px wide, 256 colours: about 180 kB instead of 900 kB in the repository.
"$PYTHON" - "$run/screenshot.png" web_demo/screenshot.png <<'PY'
import sys
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB")
image = image.resize((960, round(image.height * 960 / image.width)), Image.LANCZOS)
image.quantize(256).save(sys.argv[2], optimize=True)
PY
"$PYTHON" -m pytest -q tests/test_tfjs_convert.py tests/test_tfjs_node.py -k "committed or menu"
if [ -z "${SKIP_BENCHMARK:-}" ]; then
  node tests/browser/benchmark.mjs --sizes 256,512 --repeat 3
fi
echo "Now commit: saved_models/*/1 web_demo/model web_demo/models web_demo/fidelity*.json web_demo/screenshot.png"
