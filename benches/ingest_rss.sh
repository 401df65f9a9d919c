#!/usr/bin/env bash
# Streaming ingest (not run by CI): peak RSS and throughput of `leian ingest` (no model)
# on synthetic judgments of several corpus sizes, so that memory bounded by the commit
# batch rather than the file shows as a flat column. Prints a Markdown table.
#
#   benches/ingest_rss.sh [SIZES...]      # default: 20000 100000
#
# Set LEIAN_BIN to use a given binary (default: target/debug/leian, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LEIAN_BIN:-target/debug/leian}
if [ ! -x "$BIN" ]; then cargo build --quiet; fi
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(20000 100000)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "| cases | input file | ingest wall | cases/s | peak RSS |"
echo "|---|---|---|---|---|"
for n in "${SIZES[@]}"; do
  "$BIN" gen --cases "$n" --out "$WORK/cases.jsonl" 2>/dev/null
  bytes=$(stat -c %s "$WORK/cases.jsonl")
  rm -rf "$WORK/index"
  /usr/bin/time -f "%M %e" -o "$WORK/time" \
    "$BIN" ingest "$WORK/cases.jsonl" --index "$WORK/index" --no-model --quiet >/dev/null
  read -r rss_kb wall < "$WORK/time"
  awk -v n="$n" -v b="$bytes" -v r="$rss_kb" -v w="$wall" 'BEGIN {
    printf "| %d | %.0f MiB | %.1f s | %.0f | %.0f MiB |\n", n, b/1048576, w, n/w, r/1024 }'
done
