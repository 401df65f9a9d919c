#!/usr/bin/env bash
# Formatting and lints, run before every commit (CI checks formatting only: a clippy pass is a
# second full build of every dependency, which would double CI's time on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
