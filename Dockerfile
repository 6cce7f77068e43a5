# syntax=docker/dockerfile:1
#
# The `medkey` binary on slim Debian, running `medkey serve` as a non-root user:
#
#   docker build -t medkey .                          # the runtime image (the last stage)
#   docker build -t medkey-anvil --target anvil .     # a local chain for docker-compose's dev profile
#
# The Rust build needs no Node.js: the contract's ABI and bytecode are committed in abi/. The
# patient app is built in a Node stage of its own and copied in as static files.
# docker-compose.yml runs it with PostgreSQL and Redis; config/production.toml is its config.

ARG RUST_VERSION=1.94
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS builder
# Extra cargo features of medkey-cli, if any (S3 blob storage is built in by default); cmake is
# installed for them in case one builds C with it.
ARG FEATURES=""
RUN if [ -n "$FEATURES" ]; then \
      apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY . .
# The caches keep crates and build artifacts between builds; the binary is copied out of the
# cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p medkey-cli ${FEATURES:+--features "$FEATURES"} \
    && install -m 0755 target/release/medkey /usr/local/bin/medkey \
    && medkey --version

# The browser apps: static files the vault serves at / (patient), /provider/ and /admin/ when
# vault.web_root, vault.provider_web_root and vault.admin_web_root point at them.
FROM node:20-${DEBIAN_RELEASE}-slim AS web
WORKDIR /web
COPY web/ ./
# The browser client reads the sensitive-category evidence from the same file as the Rust side.
COPY protocol/src/sensitive_codes.json /protocol/src/sensitive_codes.json
# ...and the named NUCC specialties from the same file as the Rust directory.
COPY protocol/src/directory/nucc_taxonomy.json /protocol/src/directory/nucc_taxonomy.json
RUN npm ci --no-audit --no-fund --loglevel=error \
    && npm run build --workspace @medkey/patient-app --workspace @medkey/provider-app --workspace @medkey/admin-console

# anvil for the dev profile only, pinned to the version in tools/package.json (npm @foundry-rs/anvil).
FROM node:20-${DEBIAN_RELEASE}-slim AS anvil
ARG ANVIL_VERSION=1.7.1
RUN npm install --global "@foundry-rs/anvil@${ANVIL_VERSION}" \
    && npm cache clean --force \
    && real="$(find "$(npm root --global)/@foundry-rs" -path '*/anvil-linux-*/bin/anvil' -type f | head -n 1)" \
    && test -n "$real" \
    && ln -sf "$real" /usr/local/bin/anvil \
    && anvil --version
# The binary itself, not npm's Node.js wrapper, so that `docker stop`'s SIGTERM reaches it.
USER node
EXPOSE 8545
ENTRYPOINT ["/usr/local/bin/anvil"]
CMD ["--host", "0.0.0.0", "--port", "8545", "--chain-id", "31337"]

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: TLS to RPC providers; curl: the healthcheck in docker-compose.yml.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 medkey \
    && useradd --system --uid 10001 --gid medkey --home-dir /var/lib/medkey --shell /usr/sbin/nologin medkey \
    && mkdir -p /etc/medkey /var/lib/medkey/blobs \
    && chown -R medkey:medkey /var/lib/medkey
COPY --from=builder /usr/local/bin/medkey /usr/local/bin/medkey
COPY config/production.toml /etc/medkey/medkey.toml
# Every shipped configuration (staging.toml for a test network: --config /etc/medkey/staging.toml),
# each checked with `medkey serve --check` by the tests.
COPY config/ /etc/medkey/
COPY --from=web /web/apps/patient/dist/ /usr/share/medkey/patient-app/
COPY --from=web /web/apps/provider/dist/ /usr/share/medkey/provider-app/
COPY --from=web /web/apps/admin/dist/ /usr/share/medkey/admin-console/
# The known networks' deployment files (config/production.toml reads them from here).
COPY --chown=medkey:medkey deployments/ /var/lib/medkey/deployments/
USER medkey:medkey
WORKDIR /var/lib/medkey
# The vault's HTTP API and the indexer's Prometheus metrics (config/production.toml).
EXPOSE 8080 9464
ENTRYPOINT ["medkey"]
CMD ["serve", "--config", "/etc/medkey/medkey.toml"]
