;; A module that waits for the request body with its headers paused, as a filter must that
;; writes a header from the body (a Lua script's `headers:add("x", request:body():length())`):
;; `proxy_on_request_headers` returns StopIteration (1) unless the request ends with its headers;
;; `proxy_on_request_body` returns StopIterationAndBuffer (1) until the body ends, then adds
;; `x-body-seen: yes` to the request headers and continues (0). tests/tests/body_pause_in_envoy.rs
;; plays it in Envoy with and without the plugin's `allow_on_headers_stop_iteration`.
(module
  (import "env" "proxy_add_header_map_value"
    (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "x-body-seen")
  (data (i32.const 32) "yes")
  (global $heap (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param $context i32) (param $headers i32) (param $end i32) (result i32)
    (select (i32.const 0) (i32.const 1) (local.get $end)))
  (func (export "proxy_on_request_body") (param $context i32) (param $size i32) (param $end i32) (result i32)
    (if (i32.eqz (local.get $end)) (then (return (i32.const 1))))
    ;; map type 0: the request headers
    (drop (call $add (i32.const 0) (i32.const 16) (i32.const 11) (i32.const 32) (i32.const 3)))
    (i32.const 0))
)
