#!/usr/bin/env bash
# `make demo`: start the real OpenClaw gateway on loopback and the exporter against it.
# Ctrl-C stops both (each by its own pid).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="$(mktemp -d)"
port="${GATEWAY_PORT:-18789}"
listen="${LISTEN:-127.0.0.1:9879}"
# A throwaway token for the local demo gateway, kept in a file readable only by us.
umask 077
python3 -c 'import secrets; print(secrets.token_hex(24))' > "$work/token"
sed -e "s#http://127.0.0.1:18789#http://127.0.0.1:$port#" \
    -e "s#token_env: OPENCLAW_GATEWAY_TOKEN#token_file: $work/token#" examples/exporter.yml > "$work/exporter.yml"
python3 scripts/gateway.py --port "$port" --token-file "$work/token" &
gw_pid=$!
exporter_pid=""
cleanup() {
  [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null || true
  kill "$gw_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
python3 -m exporter run --config.file "$work/exporter.yml" --web.listen-address "$listen" &
exporter_pid=$!
echo
echo "gateway:  http://127.0.0.1:$port/  (pid $gw_pid)"
echo "exporter: http://$listen/metrics   /probe?target=gateway&module=readiness&debug=true"
echo "Ctrl-C stops both."
wait "$exporter_pid"
