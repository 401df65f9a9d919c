#!/usr/bin/env bash
# Court-scale benchmark (issue 15; by hand, never in CI): N full-length synthetic judgments
# (`leian gen --full-length`, ~2,800 characters each), their chunk vectors pre-filled into
# the embedding cache with made-up vectors (`leian embed --synthetic-vectors`: the index
# part is what is measured; query embeddings are the real model's), ingested with the model
# from that cache, then served and loaded over HTTP by wrk: BM25 and hybrid, keyword queries
# and pasted facts (300 characters of generated cases that are not in the corpus), 1 and 8
# concurrent clients. Prints Markdown tables for BENCHMARKS.md.
#
#   benches/court_scale.sh N [SECONDS] [WORKDIR]   # e.g. benches/court_scale.sh 100000 20
#
# Needs the model (`leian model fetch`) and wrk (Debian package). LEIAN_BIN picks the
# binary (default target/release/leian, built if missing). WORKDIR is kept when given.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/wait_healthy.sh
N=${1:?usage: benches/court_scale.sh N [SECONDS] [WORKDIR]}
SECS=${2:-20}
PORT=${LEIAN_LOAD_PORT:-18081}
BIN=${LEIAN_BIN:-target/release/leian}
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }; }
if [ ! -x "$BIN" ]; then cargo build --release --quiet; fi
if [ -n "${3:-}" ]; then WORK=$3; mkdir -p "$WORK"; KEEP=1; else WORK=$(mktemp -d); KEEP=0; fi
SERVER=
cleanup() { [ -n "$SERVER" ] && kill -INT "$SERVER" 2>/dev/null; [ "$KEEP" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
INDEX=$WORK/index

"$BIN" gen --cases "$N" --full-length --out "$WORK/cases.jsonl" 2>&1 | tail -1
t0=$(date +%s.%N)
"$BIN" embed "$WORK/cases.jsonl" --synthetic-vectors --embed-cache "$INDEX/embed-cache" 2>/dev/null | tail -1
t1=$(date +%s.%N)
rm -rf "$INDEX/gen-"* "$INDEX/CURRENT"
/usr/bin/time -f "%M %e" -o "$WORK/ingest.time" \
  "$BIN" ingest "$WORK/cases.jsonl" --index "$INDEX" --quiet > "$WORK/ingest.log"
read -r rss_kb wall < "$WORK/ingest.time"
grep -E "^ingested|^embedded" "$WORK/ingest.log"
disk=$(du -sb "$INDEX" | cut -f1)
cache=$(du -sb "$INDEX/embed-cache" | cut -f1)

# queries: 12 keyword queries, and 300-character pasted facts of cases not in the corpus
cp benches/keyword_queries.txt "$WORK/keyword.txt"
"$BIN" gen --cases 24 --seed 991 --full-length --out "$WORK/queries.jsonl" 2>/dev/null
python3 - "$WORK/queries.jsonl" > "$WORK/facts.txt" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    facts = json.loads(line)["sections"]["facts"].replace("\n", "")
    print(facts[:300])
PY

# what the server holds with no case (the model, the runtime): the rest is the index's
mkdir -p "$WORK/empty"
"$BIN" serve --index "$WORK/empty" --addr "127.0.0.1:$PORT" >"$WORK/serve-empty.log" 2>&1 &
SERVER=$!
wait_healthy "$PORT" 1200 || { cat "$WORK/serve-empty.log" >&2; exit 1; }
empty_rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
kill -INT "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=

KEY=$("$BIN" keys create --index "$INDEX" --role judge --court 压测法院 --name court-scale 2>/dev/null)
"$BIN" serve --index "$INDEX" --addr "127.0.0.1:$PORT" --per-key-concurrent 64 \
  --per-key-per-minute 1000000 --per-key-heavy 64 >"$WORK/serve.log" 2>&1 &
SERVER=$!
wait_healthy "$PORT" 1200 || true
curl -sf "http://127.0.0.1:$PORT/healthz" >"$WORK/health.json" || { cat "$WORK/serve.log" >&2; exit 1; }

# warm up each kind once
for q in keyword facts; do
  LEIAN_QUERIES="$WORK/$q.txt" LEIAN_MODE=hybrid LEIAN_KEY=$KEY wrk -t 1 -c 1 -d 3s \
    -s benches/search.lua "http://127.0.0.1:$PORT" >/dev/null
done
serve_rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")

echo
echo "| corpus | input | ingest (vectors from the cache) | peak RSS of ingest | index on disk (with the cache) | per case on disk | server RSS after warm-up (with no case) | per case in RAM |"
echo "|---|---|---|---|---|---|---|---|"
awk -v n="$N" -v in_b="$(stat -c %s "$WORK/cases.jsonl")" -v w="$wall" -v r="$rss_kb" \
    -v d="$disk" -v c="$cache" -v s="$serve_rss" -v e="$empty_rss" 'BEGIN {
  printf "| %d full-length judgments | %.0f MiB | %.0f s (%.0f cases/s) | %.0f MiB | %.0f MiB (cache %.0f MiB) | %.1f KiB | %.0f MiB (%.0f MiB) | %.1f KiB |\n",
    n, in_b/1048576, w, n/w, r/1024, d/1048576, c/1048576, d/n/1024, s/1024, e/1024, (s-e)/n }'
echo
echo "(synthetic vectors written in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", b-a}') s)"
echo
echo "| mode | queries | clients | requests | req/s | p50 (ms) | p99 (ms) | errors |"
echo "|---|---|---|---|---|---|---|---|"
for mode in bm25 hybrid; do
  for q in keyword facts; do
    for c in 1 8; do
      line=$(LEIAN_QUERIES="$WORK/$q.txt" LEIAN_MODE=$mode LEIAN_KEY=$KEY wrk -t "$(( c < 2 ? 1 : 2 ))" \
        -c "$c" -d "${SECS}s" --timeout 30s -s benches/search.lua "http://127.0.0.1:$PORT" | grep '^RESULT')
      read -r _ n rps p50 _ p99 errs <<<"$line"
      echo "| $mode | $q | $c | $n | $rps | $p50 | $p99 | $errs |"
    done
  done
done
echo
echo "index: $(cat "$WORK/health.json")"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
