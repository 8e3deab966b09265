#!/usr/bin/env bash
# `make demo`: start the real OpenClaw gateway on loopback and the exporter against it.
# Ctrl-C (or SIGTERM) stops both, each by its own pid, and removes the demo's temp dir (the
# gateway's home, ~56 MB, lives inside it).
#   GATEWAY_PORT (default 18789), LISTEN (default 127.0.0.1:9879), PYTHON (default .venv/bin/python)
#   WITH_MESSAGE=1: also run the message probe (one agent turn every 20 s) against a local stub
#   model provider (scripts/stub_provider.py) and print its warm P50/P95/P99 beside the article's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-.venv/bin/python}"
case "$python" in /*) ;; */*) python="$root/$python" ;; esac
if ! "$python" -c 'import exporter' 2>/dev/null; then
  echo "demo: $python cannot import the exporter: run 'make demo' (it creates .venv) or set PYTHON" >&2
  exit 1
fi
port="${GATEWAY_PORT:-18789}"
listen="${LISTEN:-127.0.0.1:9879}"
umask 077  # the token file and everything else here is readable only by us
work="$(mktemp -d "${TMPDIR:-/tmp}/openclaw-demo.XXXXXX")"
wrapper_pid=""
exporter_pid=""
cleanup() {
  trap - EXIT INT TERM
  # The exporter, then the wrapper: it stops the gateway's own process group before it exits.
  [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null || true
  [ -n "$wrapper_pid" ] && kill "$wrapper_pid" 2>/dev/null || true
  [ -n "$exporter_pid" ] && wait "$exporter_pid" 2>/dev/null || true
  [ -n "$wrapper_pid" ] && wait "$wrapper_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# A throwaway token for the local demo gateway; only its path is ever printed.
"$python" -c 'import secrets; print(secrets.token_hex(24))' > "$work/token"
sed -e "s#http://127.0.0.1:18789#http://127.0.0.1:$port#" \
    -e "s#token_env: OPENCLAW_GATEWAY_TOKEN#token_file: $work/token#" examples/exporter.yml > "$work/exporter.yml"
# The storage module (docs/storage.md) on a local directory, standing in for the gateway's volume.
mkdir "$work/storage-probe"
"$python" - "$work/exporter.yml" "$work/storage-probe" <<'PY'
import sys, yaml
path, probe_dir = sys.argv[1], sys.argv[2]
with open(path) as fh:
    doc = yaml.safe_load(fh)
doc["targets"][0]["storage"] = {"path": probe_dir, "interval": "15s", "timeout": "5s"}
with open(path, "w") as fh:
    yaml.safe_dump(doc, fh, sort_keys=False)
PY

# scripts/gateway.py is a wrapper: it starts the gateway (node) in its own process group, with its
# home in a temp dir (TMPDIR keeps that inside $work), and stops it on SIGTERM.
with_message="${WITH_MESSAGE:-}"
gateway_args=(--port "$port" --token-file "$work/token")
if [ -n "$with_message" ]; then
  gateway_args+=(--with-stub-provider)
  # Every 20 s: turns < 60 s apart are warm (docs/message-probe.md); the cap bounds a forgotten demo.
  "$python" - "$work/exporter.yml" <<'PY'
import sys, yaml
path = sys.argv[1]
doc = yaml.safe_load(open(path))
doc["targets"][0]["message"] = {"interval": "20s", "timeout": "15s", "daily_cap": 500}
open(path, "w").write(yaml.safe_dump(doc, sort_keys=False))
PY
fi
TMPDIR="$work" "$python" scripts/gateway.py "${gateway_args[@]}" > "$work/gateway-wrapper.log" 2>&1 &
wrapper_pid=$!
ready_line=""
for _ in $(seq 1 240); do
  ready_line="$(grep -m1 '^gateway ready on ' "$work/gateway-wrapper.log" || true)"
  [ -n "$ready_line" ] && break
  if ! kill -0 "$wrapper_pid" 2>/dev/null; then
    echo "demo: the gateway did not start:" >&2
    cat "$work/gateway-wrapper.log" >&2
    exit 1
  fi
  sleep 0.5
done
if [ -z "$ready_line" ]; then
  echo "demo: the gateway was not ready after 120 s:" >&2
  cat "$work/gateway-wrapper.log" >&2
  exit 1
fi
# "gateway ready on URL (pid N, log PATH)"
gateway_pid="$(sed -n 's/.*(pid \([0-9]*\),.*/\1/p' <<< "$ready_line")"
gateway_log="$(sed -n 's/.*, log \(.*\))$/\1/p' <<< "$ready_line")"

"$python" -m exporter run --config.file "$work/exporter.yml" --web.listen-address "$listen" &
exporter_pid=$!
if ! "$python" - "http://$listen/-/ready" "$exporter_pid" <<'PY'
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
for _ in range(120):
    try:
        with urllib.request.urlopen(url, timeout=1):
            sys.exit(0)
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    time.sleep(0.25)
sys.exit(1)
PY
then
  echo "demo: the exporter did not become ready on $listen (see its log above)" >&2
  exit 1
fi

cat <<MSG

gateway:   http://127.0.0.1:$port/   openclaw gateway pid $gateway_pid (log $gateway_log)
           started and stopped by its wrapper scripts/gateway.py, pid $wrapper_pid
exporter:  http://$listen/   pid $exporter_pid
           http://$listen/metrics
           http://$listen/probe?target=gateway&module=readiness&debug=true
           http://$listen/probe?target=gateway&module=storage&debug=true   (canary in $work/storage-probe)
token:     $work/token   (a throwaway token for this gateway; config $work/exporter.yml)
probe:     $python -m exporter probe --config.file $work/exporter.yml

Ctrl-C stops both and removes $work.
MSG
if [ -n "$with_message" ]; then
  echo "message:   probe every 20 s through the gateway to the stub provider $(grep -m1 '^stub provider on ' "$work/gateway-wrapper.log" | cut -d' ' -f4)"
  # The warm turns' exact percentiles (1h window) once the first warm turn is in, in the article's layout.
  "$python" - "http://$listen/metrics" <<'PY' || true
import re, sys, time, urllib.request
url = sys.argv[1]
pattern = re.compile(r'^openclaw_probe_latency_seconds\{[^}]*module="message",phase="warm",window="1h",quantile="([0-9.]+)"\} (\S+)$', re.M)
for _ in range(120):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            found = dict(pattern.findall(resp.read().decode()))
    except OSError:
        found = {}
    if {"0.5", "0.95", "0.99"} <= set(found):
        shown = " / ".join(f"{float(found[q]) * 1000:.0f} ms" for q in ("0.5", "0.95", "0.99"))
        print(f"message:   warm turn P50 / P95 / P99: {shown}   (article: 200 / 800 / 1500 ms)", flush=True)
        break
    time.sleep(1)
PY
fi
wait "$exporter_pid"
