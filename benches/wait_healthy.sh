# Sourced by the bench scripts: `wait_healthy PORT [TRIES]` waits for the server on
# 127.0.0.1:PORT to answer /healthz, polling every 0.5 s (default 600 tries: 5 minutes);
# fails when it never did.
wait_healthy() {
  local port=$1 tries=${2:-600}
  for _ in $(seq 1 "$tries"); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}
