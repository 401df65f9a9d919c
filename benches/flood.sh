#!/usr/bin/env bash
# Fair use under a flood (not run by CI): `leian serve` on INDEX twice — with the
# default per-key limits and with them lifted — and benches/flood.py against each: one
# key floods with long pastes from 16 threads, another sends keyword queries.
#
#   benches/flood.sh INDEX_DIR [SECONDS]      # e.g. benches/flood.sh index/floor 20
#
# LEIAN_BIN picks the binary (default target/release/leian, built if missing); extra
# `leian serve` flags go in LEIAN_SERVE_FLAGS (e.g. --no-model for BM25 only).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/wait_healthy.sh
INDEX=${1:?usage: benches/flood.sh INDEX_DIR [SECONDS]}
SECS=${2:-20}
PORT=${LEIAN_FLOOD_PORT:-18090}
BIN=${LEIAN_BIN:-target/release/leian}
if [ ! -x "$BIN" ]; then cargo build --release --quiet; fi
FLOOD=$("$BIN" keys create --index "$INDEX" --role judge --court 压测甲 --name flood 2>/dev/null | tail -1)
OTHER=$("$BIN" keys create --index "$INDEX" --role judge --court 压测乙 --name other 2>/dev/null | tail -1)
run() {
  local label=$1; shift
  # shellcheck disable=SC2086
  "$BIN" serve --index "$INDEX" --addr "127.0.0.1:$PORT" ${LEIAN_SERVE_FLAGS:-} "$@" \
    >/tmp/leian-flood-serve.log 2>&1 &
  local server=$!
  wait_healthy "$PORT" || true
  echo "$label: $(python3 benches/flood.py "http://127.0.0.1:$PORT" "$FLOOD" "$OTHER" "$SECS")"
  kill -INT "$server"; wait "$server" || true
}
run "per-key limits (default)"
run "no per-key limits" --per-key-concurrent 1000 --per-key-per-minute 100000000 --per-key-heavy 1000
