#!/usr/bin/env bash
# Static analysis of contracts/ with slither, in a venv of its own (slither-analyzer pins
# web3<8, which the project cannot share), compiled by solcjs through the bin/solc shim.
# Prints slither's findings and writes them as JSON to .cache/slither.json; exits non-zero
# only on a High-impact finding (--fail-high). Triage: docs/security.md, "Static analysis".
#
#   scripts/slither.sh            # install once (~1 min), then analyse
#   scripts/slither.sh --print human-summary   # any extra slither arguments
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.cache/slither-venv
SLITHER_VERSION=0.11.6
if [[ ! -x $VENV/bin/slither ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "slither-analyzer==$SLITHER_VERSION"
fi
[[ -d node_modules/@openzeppelin ]] || npm install --no-audit --no-fund --loglevel=error
rm -f .cache/slither.json
exec "$VENV/bin/slither" contracts/ \
  --solc "$PWD/bin/solc" --solc-standard-json \
  --solc-remaps "@openzeppelin/=node_modules/@openzeppelin/" \
  --filter-paths node_modules \
  --exclude-dependencies \
  --json .cache/slither.json \
  --fail-high "$@"
