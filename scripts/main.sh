#!/usr/bin/env bash
# The main job on a fresh machine: install Fashion-MNIST, build dlscope, and run it end to end.
# Outputs go to ./out/ (created; existing runs there are kept, new ones get a new name).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/dlscope-target}"
bash scripts/setup.sh
cargo build --release -p dlscope-cli
DL="$CARGO_TARGET_DIR/release/dlscope"
OUT="out/$(date +%Y%m%d-%H%M%S)"
mkdir -p out

echo "== dlscope info fashion-mnist"
"$DL" info fashion-mnist
echo "== dlscope verify fashion-mnist"
"$DL" verify fashion-mnist
echo "== dlscope analyze fashion-mnist --out $OUT/analysis"
"$DL" analyze fashion-mnist --out "$OUT/analysis"
echo "open $OUT/analysis/report.html in a browser for the full report"
