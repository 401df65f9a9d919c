#!/usr/bin/env bash
# The project's test command (README): fetches the embedding model when missing, so the
# tests that check the real model run, then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f models/e5-small/model.safetensors ]; then
  cargo run --quiet -- model fetch || echo "warning: model fetch failed; tests that need the model will say they skipped" >&2
fi
cargo test --workspace "$@"
