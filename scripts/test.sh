#!/usr/bin/env bash
# Runs the whole test suite (installs what it needs first). Tests that train run optimised
# ([profile.test] opt-level = 3 in Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/dlscope-target}"
bash scripts/setup.sh
cargo test --workspace --locked
