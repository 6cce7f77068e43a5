#!/usr/bin/env bash
# Installs Medkey's pinned dev tools (Foundry, solc-js, OpenZeppelin) into tools/node_modules.
# Idempotent: does nothing when the installed tree already matches tools/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../tools"

need() { command -v "$1" >/dev/null || { echo "setup: '$1' is required but not installed ($2)" >&2; exit 1; }; }
need node "Node.js 20 or newer"
need npm "comes with Node.js"

stamp=node_modules/.medkey-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

echo "setup: installing Foundry, solc-js and OpenZeppelin into tools/node_modules ..."
# --ignore-scripts: the Foundry packages' postinstall only re-links binaries that the
# platform packages (@foundry-rs/*-linux-amd64) already ship.
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
for tool in forge anvil cast; do
  bin=$(ls node_modules/@foundry-rs/"$tool"-*/bin/"$tool" 2>/dev/null | head -n1)
  [[ -n $bin ]] || { echo "setup: no $tool binary for this platform in @foundry-rs/$tool" >&2; exit 1; }
  chmod +x "$bin"
  ln -sf "../${bin#node_modules/}" "node_modules/.bin/$tool"
done
./solc --version | tail -n1
node_modules/.bin/forge --version | head -n1
echo "$want" > "$stamp"
