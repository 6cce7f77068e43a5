# Medkey: the two commands a new user needs are `make run` and `make test`.
FORGE := tools/node_modules/.bin/forge
SETUP_STAMP := tools/node_modules/.medkey-lock.sha256

.PHONY: help run install test setup build web contracts abi api deployments check-abi test-contracts test-rust test-cluster test-web gas bench-indexer bench-revocation bench-vault bench-audit bench-cli bench-directory coverage lint clean sandbox

## help: this list
help:
	@awk -F': ' '/^## /{sub(/^## /, ""); split($$0, a, ": "); printf "  make %-16s %s\n", a[1], substr($$0, length(a[1]) + 3)}' $(MAKEFILE_LIST)

## run: start a local chain with the ConsentRegistry deployed (Ctrl-C stops it)
run: build
	cargo run --quiet --bin medkey -- dev

## sandbox: a SMART on FHIR sandbox on loopback (US Core patients 355 and 85) to connect to; prints its URL and logins
sandbox: setup
	cd web && npm start --silent -w @medkey/smart-sandbox

## install: put `medkey` on your PATH (cargo's bin directory, ~/.cargo/bin)
install:
	cargo install --locked --path cli

## test: every test in the project (forge suites, ABI drift, gas budgets, Rust unit + e2e, the cluster under faults, web)
test: check-abi test-contracts test-rust test-cluster test-web

## setup: install Foundry, solc-js and OpenZeppelin from npm into tools/ (idempotent)
setup: $(SETUP_STAMP)
$(SETUP_STAMP): tools/package-lock.json tools/requirements.txt tools/requirements-api.txt web/package-lock.json scripts/setup.sh
	bash scripts/setup.sh

## contracts: compile the contracts (forge build)
contracts: setup
	$(FORGE) build

## build: the contracts, the web apps and every Rust binary
build: contracts web
	cargo build --bins

## web: build the patient app (web/apps/patient/dist), which medkey dev serves at the vault's /
web: setup
	cd web && npm run build

## abi: regenerate abi/ConsentRegistry.json and deployments/31337.json after a contract change
abi: contracts
	node scripts/abi.mjs
	$(MAKE) deployments

## deployments: regenerate deployments/31337.json on a throwaway local chain
deployments:
	cargo run --quiet --bin medkey -- dev --port 18545 --exit-after-deploy --deployments-dir deployments

## check-abi: fail when abi/ConsentRegistry.json differs from the compiled contract
check-abi: contracts
	node scripts/abi.mjs --check

## test-contracts: the forge suites and the gas budgets
test-contracts: setup
	$(FORGE) test
	$(FORGE) snapshot --match-contract GasTest --check

## test-rust: Rust unit tests and the end-to-end binary (tests/tests/it), all but the cluster
test-rust: build
	cargo nextest run --workspace --no-fail-fast -E 'not binary(cluster)'

## test-cluster: 1 indexer, 3 vault replicas behind HAProxy, PostgreSQL and Redis, each broken in turn under load; prints its table
test-cluster: build
	@command -v haproxy >/dev/null || { echo "test-cluster needs HAProxy: apt-get install haproxy" >&2; exit 1; }
	cargo nextest run -p medkey-e2e --test cluster --no-capture

## test-web: The web workspace: types and typecheck drift, unit tests, vectors against Rust, the e2e against a real anvil and vault (it runs the medkey binary `make build` made).
test-web: build
	@test -x "$${CHROMIUM:-/usr/bin/chromium}" || { echo "test-web needs Chromium: apt-get install chromium" >&2; exit 1; }
	cd web && npm run typecheck && npm test

## api: regenerate vault/openapi.json and the TypeScript API types after a handler change
api:
	MEDKEY_WRITE_OPENAPI=1 cargo nextest run -p medkey-e2e --test it vault_openapi::the_committed_document_is_the_generated_one
	cd web/packages/client && npm run gen:api

## gas: refresh .gas-snapshot and contracts/snapshots/ after an intended gas change
gas: setup
	$(FORGE) snapshot --match-contract GasTest

## bench-indexer: Indexer backfill throughput and grant-to-row latency (anvil + the local PostgreSQL); see BENCHMARKS.md.
bench-indexer: setup
	cargo run --release -p medkey-e2e --bin indexer_bench -- 100000

## bench-vault: Key releases against the real medkey serve, SQLite then PostgreSQL: single releases alternated with /healthz under wrk (apt-get install wrk), a 1,000-record chart in batches, 20 providers at once.
bench-vault: setup
	@command -v wrk >/dev/null || { echo "bench-vault needs wrk: apt-get install wrk" >&2; exit 1; }
	cargo build --release --bin medkey
	cargo run --release -p medkey-e2e --bin vault_bench -- sqlite 10 32
	cargo run --release -p medkey-e2e --bin vault_bench -- postgres 10 32

## bench-audit: Audit log: appends per second (SQLite, PostgreSQL) and proof times at 1M entries.
bench-audit: setup
	cargo run --release -p medkey-e2e --bin audit_bench -- 200000 512

## bench-directory: the provider directory's search and lookups under load, SQLite then PostgreSQL
bench-directory:
	cargo run --release -p medkey-e2e --bin directory_bench -- sqlite 8
	cargo run --release -p medkey-e2e --bin directory_bench -- postgres 8

## bench-cli: the medkey client: upload, grant (wrap for a provider), export, import of 1,000 records
bench-cli: setup
	cargo build --release --bin medkey
	cargo run --release -p medkey-e2e --bin cli_bench -- 1000

## bench-revocation: Revocation delay: revoke receipt -> first refused release, mirror vs strict mode (BENCHMARKS.md).
bench-revocation: setup
	cargo run --release -p medkey-e2e --bin revocation_bench -- 40

## coverage: line coverage of the contracts (forge coverage)
coverage: setup
	# Coverage builds are unoptimised, so the gas budgets (GasTest) do not apply there.
	$(FORGE) coverage --ir-minimum --no-match-coverage 'contracts/test' --no-match-contract GasTest --report summary

## lint: forge fmt, rustfmt, clippy (warnings are errors), ESLint and Prettier over web/
lint: setup
	$(FORGE) fmt --check
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cd web && npm run lint

## clean: remove build outputs (contracts/out, contracts/cache, target)
clean:
	rm -rf contracts/out contracts/cache target
