// Where the kernel keeps the debugger's snapshot of the current vCPU: the 512 bytes of .bss at
// `swiftvmx_debug_snapshot` (boot/debug.asm), which the gdb helpers (tools/gdb/swiftvmx.py) and
// Bochs' debugger find by that symbol. docs/DEBUGGING.md.
import Hypervisor
import VMX
import Intrinsics

enum KernelDebugSnapshot {
    /// Writes the snapshot's header (magic, version, size; detail on) and returns the snapshot
    /// for the run loop to record VM exits into. Call once, before the first guest.
    static func install() -> DebugSnapshot {
        DebugSnapshot(base: kernel_debug_snapshot_address(), cpu: RealProcessor())
    }
}
