;; The seed script's effects written by hand with the fewest host calls, and no logic: read
;; `:path`, log it at info, read the clock, add `x-request-timestamp` (a constant: no time
;; formatting) to the request and `x-lua-processed: true` to the response. Four host calls and
;; one host allocation in the module on the request, one host call on the response: what any
;; proxy-wasm module doing what the seed's script does costs Envoy at the least.
;; docs/paired-runs.md pairs it with the script and with the pipeline `moonshift migrate` makes.
(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 64) ":path")
  (data (i32.const 96) "x-request-timestamp")
  (data (i32.const 128) "2026-12-06T00:00:00Z")
  (data (i32.const 160) "x-lua-processed")
  (data (i32.const 192) "true")
  ;; The host's copies land in one buffer, read before the next: nothing is kept.
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32) (i32.const 4096))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ;; the path's address at 256, its size at 260
    (drop (call $get (i32.const 0) (i32.const 64) (i32.const 5) (i32.const 256) (i32.const 260)))
    (drop (call $log (i32.const 2) (i32.load (i32.const 256)) (i32.load (i32.const 260))))
    (drop (call $now (i32.const 264)))
    (drop (call $add (i32.const 0) (i32.const 96) (i32.const 19) (i32.const 128) (i32.const 20)))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add (i32.const 2) (i32.const 160) (i32.const 15) (i32.const 192) (i32.const 4)))
    (i32.const 0))
)
