#!/usr/bin/env python3
"""Prints the wasm-metadce graph that keeps a module's needed exports and drops the rest.

Usage: export-graph.py <crate>/Cargo.toml

The proxy-wasm Rust SDK exports every `proxy_on_*` callback from every module. Envoy enters the
VM only for callbacks a module exports (a missing one is "Continue"/"done"), so each call the
filter does not need costs a V8 entry per request for nothing. A crate lists the callbacks its
glue implements in `[package.metadata.moonshift] callbacks`; the exports every filter needs
are below. wasm-metadce then removes the other exports and the SDK code only they reached.
"""
import json
import sys
import tomllib

# What every filter needs: the entry point, memory, the ABI marker, allocation, and the context
# life cycle (`proxy_on_delete` frees the SDK's per-stream context; without it they pile up).
ALWAYS = [
    "memory",
    "_initialize",
    "proxy_abi_version_0_2_1",
    "proxy_on_memory_allocate",
    "proxy_on_context_create",
    "proxy_on_vm_start",
    "proxy_on_configure",
    "proxy_on_delete",
]
# The callbacks a crate may list (HTTP filters only).
OPTIONAL = {
    "proxy_on_request_headers",
    "proxy_on_request_body",
    "proxy_on_request_trailers",
    "proxy_on_response_headers",
    "proxy_on_response_body",
    "proxy_on_response_trailers",
    "proxy_on_log",
    "proxy_on_done",
    "proxy_on_tick",
    "proxy_on_http_call_response",
    "proxy_on_queue_ready",
}


def main() -> int:
    with open(sys.argv[1], "rb") as f:
        manifest = tomllib.load(f)
    try:
        callbacks = manifest["package"]["metadata"]["moonshift"]["callbacks"]
    except KeyError:
        print(f"{sys.argv[1]}: no [package.metadata.moonshift] callbacks", file=sys.stderr)
        return 1
    unknown = sorted(set(callbacks) - OPTIONAL)
    if unknown:
        print(f"{sys.argv[1]}: unknown callbacks {unknown}", file=sys.stderr)
        return 1
    graph = [{"name": name, "export": name, "root": True} for name in ALWAYS + callbacks]
    json.dump(graph, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
