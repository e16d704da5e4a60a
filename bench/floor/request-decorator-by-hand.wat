;; request-decorator's measured configuration (remove the `x-internal-` headers, set
;; `x-client-ip` to the client's address) written by hand without the SDK and without logic:
;; context create and request headers, read the whole header map (to find the names with the
;; prefix; none here), read the client's address, and set the header to what the host returned
;; (port and all: no parsing). Three host calls, two host allocations: what those effects cost on
;; this platform before any logic.
(module
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 64) "source\00address")
  (data (i32.const 96) "x-client-ip")
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
    ;; What the host handed over for the last request is dropped: the heap starts again.
    (global.set $heap (i32.const 1024))
    ;; the map's address at 256, its size at 260; the address's at 264 and 268
    (drop (call $pairs (i32.const 0) (i32.const 256) (i32.const 260)))
    (drop (call $property (i32.const 64) (i32.const 14) (i32.const 264) (i32.const 268)))
    (drop (call $replace (i32.const 0) (i32.const 96) (i32.const 11) (i32.load (i32.const 264)) (i32.load (i32.const 268))))
    (i32.const 0))
)
