#!/usr/bin/env bash
# HTTP load test (not run by CI): starts `leian serve` on an index, then drives
# POST /v1/search from a separate process (wrk, Debian package `wrk`) at 1, 8 and 32
# concurrent connections, for BM25 and hybrid mode, each for a bounded time. Prints a
# Markdown table (throughput, latency p50/p90/p99) for BENCHMARKS.md.
#
#   benches/load.sh INDEX_DIR [SECONDS]      # e.g. benches/load.sh index/full 20
#
# Set LEIAN_BIN to use a given binary (default: target/release/leian, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/wait_healthy.sh
INDEX=${1:?usage: benches/load.sh INDEX_DIR [SECONDS]}
SECS=${2:-20}
PORT=${LEIAN_LOAD_PORT:-18080}
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }; }
BIN=${LEIAN_BIN:-target/release/leian}
if [ ! -x "$BIN" ]; then cargo build --release --quiet; fi
WORK=$(mktemp -d)
trap 'kill -INT $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
KEY=$("$BIN" keys create --index "$INDEX" --role judge --court 压测法院 --name load-test 2>/dev/null)
# one key drives every connection: lift its fair-use limits, or most requests are 429s
"$BIN" serve --index "$INDEX" --addr "127.0.0.1:$PORT" --per-key-concurrent 64 \
  --per-key-per-minute 1000000 --per-key-heavy 64 >"$WORK/serve.log" 2>&1 &
SERVER=$!
wait_healthy "$PORT" || true
curl -sf "http://127.0.0.1:$PORT/healthz" >"$WORK/health.json" || { cat "$WORK/serve.log" >&2; exit 1; }
# twelve fictional queries of the kinds judges type, rotated per request (benches/search.lua)
echo "| mode | connections | requests | throughput (req/s) | p50 (ms) | p90 (ms) | p99 (ms) | errors |"
echo "|---|---|---|---|---|---|---|---|"
for mode in bm25 hybrid; do
  for c in 1 8 32; do
    line=$(LEIAN_QUERIES=benches/keyword_queries.txt LEIAN_MODE=$mode LEIAN_KEY=$KEY \
      wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${SECS}s" \
      --timeout 30s -s benches/search.lua "http://127.0.0.1:$PORT" | grep '^RESULT')
    read -r _ n rps p50 p90 p99 errs <<<"$line"
    echo "| $mode | $c | $n | $rps | $p50 | $p90 | $p99 | $errs |"
  done
done
echo
echo "index: $(cat "$WORK/health.json")"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
