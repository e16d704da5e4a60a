;; local-ratelimit's process-wide bucket reduced, by hand and without the SDK, to the host calls
;; it cannot do without: the clock, the bucket's read from shared data and its compare-and-swap
;; write, and the counter of decisions. No token arithmetic at all. What a process-wide limiter
;; costs on this platform before any logic: the floor local-ratelimit's Wasm is measured against
;; (its Lua keeps a bucket per worker in a Lua table, and makes no host call for it).
(module
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment (param i32 i64) (result i32)))
  (memory (export "memory") 2)
  ;; 64: the bucket's key (22 bytes); 96: the counter's name (24 bytes); 128: the counter's id;
  ;; 136: the clock (8 bytes) and the value written (16 bytes from there); 160: what the read
  ;; returns (the value's address, its size, the cas).
  (data (i32.const 64) "moonshift.bench.bucket")
  (data (i32.const 96) "moonshift.bench.admitted")
  (global $heap (mut i32) (i32.const 1024))
  (global $counter (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define (i32.const 0) (i32.const 96) (i32.const 24) (i32.const 128)))
    (global.set $counter (i32.load (i32.const 128)))
    (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ;; What the host handed over for the last request is dropped: the heap starts again.
    (global.set $heap (i32.const 1024))
    (drop (call $now (i32.const 136)))
    (drop (call $get (i32.const 64) (i32.const 22) (i32.const 160) (i32.const 164) (i32.const 168)))
    (drop (call $set (i32.const 64) (i32.const 22) (i32.const 136) (i32.const 16) (i32.load (i32.const 168))))
    (drop (call $increment (global.get $counter) (i64.const 1)))
    (i32.const 0))
  (func (export "proxy_on_delete") (param i32))
)
