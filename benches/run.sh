#!/usr/bin/env bash
# Benchmarks on the shared real data (not run by CI): ingest throughput, BM25 latency,
# and — when an index built with the model is given — embedding throughput and
# per-mode query latency. Prints a Markdown table for BENCHMARKS.md.
#
#   benches/run.sh                      # BM25 part only
#   benches/run.sh index/lecard         # plus dense/hybrid (index ingested WITH the model)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${LEIAN_DATA:-../shared/data}
cargo build --release --quiet
args=(bench --data "$DATA" --repeat 5 --out target/bench.md)
if [ $# -ge 1 ]; then args+=(--hybrid-index "$1"); fi
./target/release/leian "${args[@]}"
