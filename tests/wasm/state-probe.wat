;; A proxy-wasm module (ABI 0.2.1) for tests/tests/filter_state.rs: what Envoy does with a
;; module's `set_property` and whether a module reads a Lua filter's dynamic metadata.
;; On request headers it sets the property `moonshift_probe` to `set-by-wasm`; on response
;; headers it reads `metadata.filter_metadata.envoy.filters.http.lua.lua_key` and logs
;; `wasm reads: <value>` (or `wasm reads: nothing`) at info. Assembled by `wasm-as`.
(module
  (import "env" "proxy_set_property" (func $set_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 8192))
  ;; 16: the property path; 64: its value; 128: the metadata path (NUL-separated);
  ;; 256: the log prefix; 512: the returned pointer and size; 600: the line built.
  (data (i32.const 16) "moonshift_probe")
  (data (i32.const 64) "set-by-wasm")
  (data (i32.const 128) "metadata\00filter_metadata\00envoy.filters.http.lua\00lua_key")
  (data (i32.const 256) "wasm reads: nothing")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (i32.and (i32.add (local.get $size) (i32.const 15)) (i32.const -16))))
    (local.get $at))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $set_property (i32.const 16) (i32.const 15) (i32.const 64) (i32.const 11)))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (local $size i32)
    (if (i32.eqz (call $get_property (i32.const 128) (i32.const 55) (i32.const 512) (i32.const 516)))
      (then
        ;; "wasm reads: " then the value.
        (memory.copy (i32.const 600) (i32.const 256) (i32.const 12))
        (local.set $size (i32.load (i32.const 516)))
        (memory.copy (i32.const 612) (i32.load (i32.const 512)) (local.get $size))
        (drop (call $log (i32.const 2) (i32.const 600) (i32.add (i32.const 12) (local.get $size)))))
      (else
        (drop (call $log (i32.const 2) (i32.const 256) (i32.const 19)))))
    (i32.const 0))
)
