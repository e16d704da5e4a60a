#!/usr/bin/env bash
# The paired runs behind BENCHMARKS.md's "Paired runs" table: each filter's older build (modules
# in $BEFORE, e.g. target/filters of another checkout after `make build`) against the current
# one, each filter against its Lua, and the seed's script against one pipeline plugin.
# Usage: bench/paired.sh BEFORE_DIR [ROUNDS]   (after `make build` and
#        `cargo build --release -p moonshift-bench`)
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:?usage: bench/paired.sh BEFORE_DIR [ROUNDS]}
rounds=${2:-10}
bench="taskset -c 1 target/tools/moonshift-bench --ab"
mkdir -p target/bench
for f in timestamp-header path-logger response-decorator local-ratelimit; do
  $bench $f "$before/$f.wasm" target/filters/$f.wasm "$rounds"
done
for f in timestamp-header path-logger response-decorator local-ratelimit; do
  $bench $f lua-reference/$f.lua target/filters/$f.wasm "$rounds"
done
echo '{"scope":"worker","token_bucket":{"max_tokens":4000000000,"tokens_per_fill":4000000000,"fill_interval":"1s"}}' > target/bench/rl-worker.json
$bench local-ratelimit lua-reference/local-ratelimit.lua target/filters/local-ratelimit.wasm "$rounds" --config target/bench/rl-worker.json
echo '{"filters":[{"filter":"path-logger"},{"filter":"timestamp-header"},{"filter":"response-decorator"}]}' > target/bench/seed-pipeline.json
$bench pipeline lua-reference/pipeline.lua target/filters/pipeline.wasm "$rounds" --config target/bench/seed-pipeline.json
$bench pipeline none target/filters/pipeline.wasm "$rounds" --config target/bench/seed-pipeline.json
$bench pipeline none lua-reference/pipeline.lua "$rounds" --config target/bench/seed-pipeline.json
