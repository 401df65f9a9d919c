#!/usr/bin/env bash
# Search latency of one or more leian binaries on the same index, one after the other
# (by hand, never in CI): each binary serves INDEX, wrk drives POST /v1/search in BM25
# mode with keyword queries (benches/keyword_queries.txt) and 300-character pasted facts
# (of generated full-length cases not in the corpus), the default (legal) ranking and the
# fused lists alone, at 1 and 8 clients. Prints one Markdown table; compare binaries
# within one run (the machine is noisy).
#
#   benches/search_latency.sh INDEX SECONDS BIN [BIN...]
#   e.g. leian gen --cases 20000 --full-length --out c.jsonl
#        leian ingest c.jsonl --index /tmp/i20k --no-model
#        benches/search_latency.sh /tmp/i20k 10 /tmp/leian-before target/release/leian
#
# Needs wrk (Debian package).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/wait_healthy.sh
INDEX=${1:?usage: benches/search_latency.sh INDEX SECONDS BIN [BIN...]}
SECS=${2:?seconds per row}
shift 2
PORT=${LEIAN_LOAD_PORT:-18082}
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }; }
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill -INT "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
FIRST=$1
"$FIRST" gen --cases 24 --seed 991 --full-length --out "$WORK/queries.jsonl" 2>/dev/null
python3 - "$WORK/queries.jsonl" > "$WORK/facts.txt" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    print(json.loads(line)["sections"]["facts"].replace("\n", "")[:300])
PY
cp benches/keyword_queries.txt "$WORK/keyword.txt"
KEY=$("$FIRST" keys create --index "$INDEX" --role judge --court 压测法院 --name search-latency 2>/dev/null)
echo "| binary | ranking | queries | clients | req/s | p50 (ms) | p99 (ms) | errors |"
echo "|---|---|---|---|---|---|---|---|"
for BIN in "$@"; do
  "$BIN" serve --index "$INDEX" --addr "127.0.0.1:$PORT" --no-model --per-key-concurrent 64 \
    --per-key-per-minute 1000000 --per-key-heavy 64 >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  wait_healthy "$PORT" || true
  for ranking in legal fusion; do
    for q in keyword facts; do
      # warm up (first queries read the index from disk)
      LEIAN_QUERIES="$WORK/$q.txt" LEIAN_RANKING=$ranking LEIAN_KEY=$KEY wrk -t 1 -c 1 -d 2s \
        -s benches/search.lua "http://127.0.0.1:$PORT" >/dev/null
      for c in 1 8; do
        line=$(LEIAN_QUERIES="$WORK/$q.txt" LEIAN_RANKING=$ranking LEIAN_KEY=$KEY \
          wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${SECS}s" --timeout 30s \
          -s benches/search.lua "http://127.0.0.1:$PORT" | grep '^RESULT')
        read -r _ _ rps p50 _ p99 errs <<<"$line"
        echo "| $BIN | $ranking | $q | $c | $rps | $p50 | $p99 | $errs |"
      done
    done
  done
  kill -INT "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
