#!/usr/bin/env bash
# Fuzz the HTTP API against its own OpenAPI document (not run by CI: minutes long).
#
#   scripts/fuzz.sh [SECONDS]          # default 300 s per key
#
# Ingests the fictional `sample/` corpus (BM25 only, plus the statutes there are) into a
# fresh index, starts `leian serve` on it with fair-use limits lifted (the fuzzer would
# otherwise mostly see 429s), and runs schemathesis (installed into .fuzz-venv) twice —
# with a judge key and with an admin key — with every check on but one: no 5xx, every
# status, header and body as the schema says, schema-breaking input refused. Left out is
# `positive_data_acceptance`: a body whose every field fits the schema may still say
# nothing (`{}` as a search, a subscription to nothing, an unknown tier, status or model
# path) and is rightly refused with a 400 naming the field. Reports land in target/fuzz/.
# LEIAN_BIN picks the binary (default target/release/leian, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-300}
PORT=${LEIAN_FUZZ_PORT:-18091}
BIN=${LEIAN_BIN:-target/release/leian}
OUT=target/fuzz
if [ ! -x "$BIN" ]; then cargo build --release --quiet; fi
if [ ! -x .fuzz-venv/bin/schemathesis ]; then
  python3 -m venv .fuzz-venv
  .fuzz-venv/bin/pip install --quiet 'schemathesis==4.32.5'
fi
rm -rf "$OUT" && mkdir -p "$OUT"
INDEX="$OUT/index"
"$BIN" ingest sample/ --index "$INDEX" --no-model --quiet >"$OUT/ingest.log"
JUDGE=$("$BIN" keys create --index "$INDEX" --role judge --court 演示法院 --name fuzz-judge 2>/dev/null | tail -1)
ADMIN=$("$BIN" keys create --index "$INDEX" --role admin --court 演示法院 --name fuzz-admin 2>/dev/null | tail -1)
"$BIN" serve --index "$INDEX" --no-model --addr "127.0.0.1:$PORT" \
  --per-key-concurrent 64 --per-key-per-minute 100000000 --per-key-heavy 64 \
  >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill -INT $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
status=0
for who in judge admin; do
  key=$JUDGE; [ "$who" = admin ] && key=$ADMIN
  echo "== schemathesis as $who (${SECS}s)"
  .fuzz-venv/bin/schemathesis --no-color run "http://127.0.0.1:$PORT/v1/openapi.json" \
    --url "http://127.0.0.1:$PORT" \
    --header "Authorization: Bearer $key" \
    --checks all --exclude-checks positive_data_acceptance --max-time "$SECS" --workers 2 --request-timeout 40 \
    --exclude-path /v1/pushes/stream \
    --report junit --report-dir "$OUT/$who" \
    --suppress-health-check all 2>&1 | tee "$OUT/$who.log" | tail -n 40 ||
    status=1
done
echo "5xx answered by the server (from its log): $(grep -c 'status=5' "$OUT/serve.log" || true)"
exit $status
