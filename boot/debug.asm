; Memory a debugger reads (docs/DEBUGGING.md): the snapshot of the current vCPU that the run
; loop writes at every VM exit (Sources/Hypervisor/DebugSnapshot.swift; the gdb helpers in
; tools/gdb/swiftvmx.py and Bochs' `xp` find it by this symbol). .bss: zero until the kernel
; writes the header, which is how the helpers tell "no hypervisor yet".

global swiftvmx_debug_snapshot

DEBUG_SNAPSHOT_BYTES equ 512        ; DebugSnapshot.reservedBytes

section .bss nobits alloc noexec write align=64

align 64
swiftvmx_debug_snapshot:    resb DEBUG_SNAPSHOT_BYTES
