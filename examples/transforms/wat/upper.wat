;; Upper-cases the ASCII letters of the value (a map).
(module
  (import "gregor" "emit" (func $emit (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "gregor_abi_version") (result i32) i32.const 1)
  ;; One record at a time, always at 1024, with room behind it for a
  ;; rewritten copy.
  (func (export "gregor_alloc") (param $len i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.sub
        (i32.div_u (i32.add (i32.add (i32.mul (local.get $len) (i32.const 2)) (i32.const 1088))
                            (i32.const 65535))
                   (i32.const 65536))
        (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $need)) (i32.const -1)) (then unreachable))))
    (i32.const 1024))
  ;; The address of the value's length in the record at $p: past the
  ;; partition, offset and timestamp (20 bytes), the topic and the key
  ;; (length -1: null, no bytes).
  (func $value_field (param $p i32) (result i32)
    (local $at i32)
    (local.set $at (i32.add (local.get $p) (i32.const 20)))
    (local.set $at (i32.add (i32.add (local.get $at) (i32.const 4)) (i32.load (local.get $at))))
    (local.set $at
      (i32.add (i32.add (local.get $at) (i32.const 4))
               (select (i32.const 0) (i32.load (local.get $at))
                       (i32.lt_s (i32.load (local.get $at)) (i32.const 0)))))
    (local.get $at))
  ;; Whether the value of the record at $p starts with byte $c.
  (func $starts_with (param $p i32) (param $c i32) (result i32)
    (local $v i32)
    (local.set $v (call $value_field (local.get $p)))
    (if (result i32) (i32.gt_s (i32.load (local.get $v)) (i32.const 0))
      (then (i32.eq (i32.load8_u (i32.add (local.get $v) (i32.const 4))) (local.get $c)))
      (else (i32.const 0))))
  (func (export "gregor_transform") (param $p i32) (param $len i32) (result i32)
    (local $v i32) (local $i i32) (local $end i32) (local $c i32)
    (local.set $v (call $value_field (local.get $p)))
    (if (i32.gt_s (i32.load (local.get $v)) (i32.const 0))
      (then
        (local.set $i (i32.add (local.get $v) (i32.const 4)))
        (local.set $end (i32.add (local.get $i) (i32.load (local.get $v))))
        (loop $next
          (local.set $c (i32.load8_u (local.get $i)))
          (if (i32.lt_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 26))
            (then (i32.store8 (local.get $i) (i32.sub (local.get $c) (i32.const 32)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (local.get $end))))))
    (call $emit (local.get $p) (local.get $len))
    (i32.const 0)))
