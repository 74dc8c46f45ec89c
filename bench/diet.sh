#!/usr/bin/env bash
# The data diet on Fashion-MNIST with the Keras MLP: test accuracy against the fraction of the
# training split kept, per sampling strategy, over several seeds. Accuracy, not timing: it can
# run on a busy machine. Results (diet.csv, diet_summary.csv, diet.json, diet.svg) are copied to
# bench/results/diet/.
#
#   bench/diet.sh [SEEDS]        (default 3)
#
# DLSCOPE: the binary (default $CARGO_TARGET_DIR/release/dlscope, built with
# `cargo build --release -p dlscope-cli`).
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="${1:-3}"
DLSCOPE="${DLSCOPE:-${CARGO_TARGET_DIR:-target}/release/dlscope}"
OUT="$(mktemp -d)/diet"
"$DLSCOPE" diet fashion-mnist \
  --fractions 0.05,0.1,0.2,0.5,1 \
  --strategies random,stratified,prototypes,k-center \
  --model mlp --epochs 5 --seeds "$SEEDS" --features pca:50 \
  --out "$OUT"
mkdir -p bench/results/diet
cp "$OUT"/diet.csv "$OUT"/diet_summary.csv "$OUT"/diet.json "$OUT"/diet.svg bench/results/diet/
echo "copied to bench/results/diet/"
