;; local-reply's measured configuration (one rule: `/healthz` answers 200 `ok`) on a request that
;; does not match, written by hand without the SDK: context create and request headers, read
;; `:path` (one host call, one host allocation), compare it with `/healthz`, go on. What a filter
;; that tests the path costs on this platform before any logic of its own.
(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 64) ":path")
  (data (i32.const 96) "/healthz")
  (data (i32.const 112) "ok")
  (global $heap (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $at i32)
    ;; What the host handed over for the last request is dropped: the heap starts again.
    (global.set $heap (i32.const 1024))
    ;; the path's address at 256, its size at 260
    (drop (call $get (i32.const 0) (i32.const 64) (i32.const 5) (i32.const 256) (i32.const 260)))
    (if (i32.ne (i32.load (i32.const 260)) (i32.const 8)) (then (return (i32.const 0))))
    (local.set $at (i32.load (i32.const 256)))
    (if (i64.ne (i64.load (local.get $at)) (i64.load (i32.const 96))) (then (return (i32.const 0))))
    (drop (call $reply (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 112) (i32.const 2) (i32.const 0) (i32.const 0) (i32.const -1)))
    (i32.const 1))
)
