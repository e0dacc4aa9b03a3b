# Confab: the README's two commands are `make run` and `make test`.
#
# Every install step is skipped when its tool is already present at the right version, so
# a second `make run` starts in seconds. Nothing is downloaded except from the package
# registries (crates.io, npm, Debian).

SHELL := /bin/bash
.DEFAULT_GOAL := run

CARGO_BIN ?= $(HOME)/.cargo/bin
export PATH := $(CARGO_BIN):$(PATH)

TRUNK_VERSION := 0.21.14
# The wasm-bindgen CLI must be exactly the wasm-bindgen crate version in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test tools client server-release test-deps fmt-check clippy test-rust e2e cluster bench clean

## run: install what is missing, build the client, start the server on http://127.0.0.1:8080
run: tools client server-release
	./target/release/confab --listen 127.0.0.1:8080

## tools: the wasm32 target, Trunk and the matching wasm-bindgen CLI
tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown
	@trunk --version 2>/dev/null | grep -qx "trunk $(TRUNK_VERSION)" \
		|| cargo install trunk --version $(TRUNK_VERSION) --locked
	@wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $(WASM_BINDGEN_VERSION)" \
		|| cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
# Trunk runs no wasm-opt (app/index.html sets data-wasm-opt="0"): Debian's binaryen 108
# breaks wasm-bindgen 0.2.130's externref table export. scripts/optimize-wasm.sh runs
# binaryen 132 from npm on the build instead, when Node.js is there.

## client: build the browser client into dist/, then shrink its .wasm (needs Node.js; else skipped)
client: tools
	trunk build --release --offline
	scripts/optimize-wasm.sh dist

server-release:
	cargo build --release -p confab-server --bin confab

## cluster: three instances on :8080-8082 with their own PostgreSQL and Redis
cluster: tools client server-release test-deps
	./scripts/cluster.sh

## test: formatting, lints, every Rust test, then the browser tests
test: test-deps fmt-check clippy test-rust e2e

## test-deps: the services the tests start for themselves
test-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && $(SUDO) $(APT_INSTALL) $$missing; fi
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --all-targets -- -D warnings
	cargo clippy -p confab-app --target wasm32-unknown-unknown -- -D warnings

# The whole suite on SQLite (multi-instance tests always use PostgreSQL + Redis), then the
# single-instance suite again on PostgreSQL: the same test bodies on both backends.
test-rust:
	cargo test --workspace
	CONFAB_TEST_DATABASE=postgres cargo test -p confab-server --test api -- --skip cluster::

## e2e: the Playwright suite (e2e/) in Debian's Chromium against two release instances
# The suite starts its own Redis, PostgreSQL and instances. E2E_ARGS goes to Playwright,
# e.g. `make e2e E2E_ARGS=tests/chat.spec.ts` or `E2E_ARGS=--headed`.
E2E_ARGS ?=
e2e: tools test-deps client server-release e2e/node_modules/.package-lock.json
	cd e2e && npx tsc --noEmit && CONFAB_E2E_PREBUILT=1 npx playwright test $(E2E_ARGS)

# npm ci when node_modules is missing or older than the lockfile. Never a browser download:
# the suite runs Debian's Chromium.
e2e/node_modules/.package-lock.json: e2e/package.json e2e/package-lock.json
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null \
		|| { echo "the e2e suite needs Node.js 20 or newer (node --version: $$(node --version 2>&1))" >&2; exit 1; }
	cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

## bench: one load-tool run (BENCHMARKS.md) with its own instances, PostgreSQL and Redis,
# e.g. `make bench BENCH_MODE=big-room` or `BENCH_ARGS="--clients 2000 --rooms 4"`.
BENCH_MODE ?= fanout
BENCH_ARGS ?=
bench: test-deps
	./scripts/bench.sh $(BENCH_MODE) $(BENCH_ARGS)

clean:
	cargo clean
	rm -rf dist e2e/node_modules e2e/test-results e2e/playwright-report e2e/.tmp
