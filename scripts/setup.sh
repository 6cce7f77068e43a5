#!/usr/bin/env bash
# Installs Medkey's pinned dev tools: Foundry, solc-js and OpenZeppelin into tools/node_modules,
# the FHIR validator into tools/py, Garage (S3) into tools/garage, and the web workspace's
# packages into web/node_modules. Idempotent: does nothing when each installed tree already
# matches tools/package-lock.json and tools/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/../tools"

need() { command -v "$1" >/dev/null || { echo "setup: '$1' is required but not installed ($2)" >&2; exit 1; }; }
need node "Node.js 20 or newer"
need npm "comes with Node.js"

# Python tools (the FHIR R4 validator the export tests use), pinned in requirements.txt.
need python3 "Python 3.11 or newer"
py_stamp=py/.medkey-requirements.sha256
py_want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [[ ! -f $py_stamp || $(cat "$py_stamp") != "$py_want" ]]; then
  echo "setup: installing the FHIR validator (fhir.resources) into tools/py ..."
  rm -rf py
  python3 -m venv py || { echo "setup: python3 -m venv failed (install python3-venv)" >&2; exit 1; }
  py/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$py_want" > "$py_stamp"
fi

# API contract tools (OpenAPI validator, schemathesis), pinned in requirements-api.txt; a venv
# of their own because they need pydantic 2.
api_stamp=api-py/.medkey-requirements.sha256
api_want=$(sha256sum requirements-api.txt | cut -d' ' -f1)
if [[ ! -f $api_stamp || $(cat "$api_stamp") != "$api_want" ]]; then
  echo "setup: installing openapi-spec-validator and schemathesis into tools/api-py ..."
  rm -rf api-py
  python3 -m venv api-py || { echo "setup: python3 -m venv failed (install python3-venv)" >&2; exit 1; }
  api-py/bin/pip install --quiet --disable-pip-version-check -r requirements-api.txt
  echo "$api_want" > "$api_stamp"
fi

# Garage, a real S3-compatible object store for the cluster test, built once from crates.io at a
# pinned version with only what the test uses (SQLite metadata, bundled C libraries). Its own
# temporary build directory, so that it never churns the workspace's target/.
garage_version=2.5.0
garage_stamp=garage/.medkey-version
if [[ ! -x garage/bin/garage || ! -f $garage_stamp || $(cat "$garage_stamp") != "$garage_version" ]]; then
  need cargo "Rust (rustup)"
  echo "setup: building Garage $garage_version from crates.io into tools/garage (once; several minutes) ..."
  rm -rf garage
  env -u CARGO_TARGET_DIR cargo install garage --version "$garage_version" --locked --quiet \
    --no-default-features --features bundled-libs,sqlite --root garage
  echo "$garage_version" > "$garage_stamp"
fi

# The web workspace (client library, apps and their tests), pinned in web/package-lock.json.
web_stamp=../web/node_modules/.medkey-lock.sha256
web_want=$(sha256sum ../web/package-lock.json | cut -d' ' -f1)
if [[ ! -f $web_stamp || $(cat "$web_stamp") != "$web_want" ]]; then
  echo "setup: installing the web workspace (web/node_modules) ..."
  rm -rf ../web/node_modules # npm ci removes it too, but was seen to trip on the large tree (ENOTEMPTY)
  (cd ../web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$web_want" > "$web_stamp"
fi

stamp=node_modules/.medkey-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  touch "$stamp" # newer than requirements.txt too, so make does not run this again
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
