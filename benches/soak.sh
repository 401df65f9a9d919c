#!/usr/bin/env bash
# Soak (not run by CI): `leian serve` on INDEX, then benches/soak.py: 8 clients, each
# with its own judge key of one court, mixing search, report, consistency check and push
# for SECONDS (default 600); errors per kind, latency and the server's RSS over time.
#
#   benches/soak.sh INDEX_DIR [SECONDS] [CLIENTS]    # e.g. benches/soak.sh index/floor 600
#
# LEIAN_BIN picks the binary (default target/release/leian, built if missing); extra
# `leian serve` flags go in LEIAN_SERVE_FLAGS (e.g. --no-model).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/wait_healthy.sh
INDEX=${1:?usage: benches/soak.sh INDEX_DIR [SECONDS] [CLIENTS]}
SECS=${2:-600}
CLIENTS=${3:-8}
PORT=${LEIAN_SOAK_PORT:-18092}
BIN=${LEIAN_BIN:-target/release/leian}
if [ ! -x "$BIN" ]; then cargo build --release --quiet; fi
KEYS=()
for n in $(seq 1 "$CLIENTS"); do
  KEYS+=("$("$BIN" keys create --index "$INDEX" --role judge --court 压测法院 --name "soak-$n" 2>/dev/null | tail -1)")
done
# shellcheck disable=SC2086
"$BIN" serve --index "$INDEX" --addr "127.0.0.1:$PORT" ${LEIAN_SERVE_FLAGS:-} \
  >/tmp/leian-soak-serve.log 2>&1 &
SERVER=$!
trap 'kill -INT $SERVER 2>/dev/null || true' EXIT
wait_healthy "$PORT" || true
python3 benches/soak.py "http://127.0.0.1:$PORT" "$SERVER" "$SECS" "${KEYS[@]}"
