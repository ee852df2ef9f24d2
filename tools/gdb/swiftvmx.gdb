# gdb script for the SwiftVMX kernel (docs/DEBUGGING.md). tools/gdb-run loads it from the
# repository root, together with build/debug/kernel.elf, and connects to QEMU's gdb stub.
#
# Breakpoints: QEMU loads the image after reset (its multiboot option ROM copies it), so a
# software breakpoint planted while the machine is stopped at reset is overwritten; use
# hardware breakpoints until the kernel runs (`hbreak kmain`, `hbreak Entry.swift:41`,
# `hbreak x86_vmxon`, `swift-break enableVMX`). Swift functions carry Embedded mangled names
# ($e10Hypervisor9enableVMX...), so break on file:line or with swift-break, not on
# `Module.function`; the entry point kmain has its C name (`@c(kmain)`).
#
# Commands added here: vmx-state, vmx-exits, vmx-detail, swift-break, swiftvmx-log (see
# tools/gdb/swiftvmx.py), and vmx-enable-breaks and run-to-kmain (below).

set pagination off
set confirm off
set print pretty off
# Swift values are structs ({_value = 5}); show them in frame lines instead of "...".
set print frame-arguments all
set disassembly-flavor intel
# QEMU may still be starting: gdb retries a refused connection for this many seconds.
set tcp auto-retry on
set tcp connect-timeout 20

source tools/gdb/swiftvmx.py

# Hardware breakpoints along the VMX enable sequence (SDM 24.6-24.8), in the order the kernel
# reaches them after `make gdb`'s stop at kmain: enableVMX, and the VMXON wrapper (x86_vmxon
# exists as a function only in the debug image; the release image inlines it).
define vmx-enable-breaks
  swift-break enableVMX<
  hbreak x86_vmxon
end
document vmx-enable-breaks
Hardware breakpoints on enableVMX and the VMXON wrapper x86_vmxon (debug image).
end

# Where `make gdb` stops first (tools/gdb-run, unless --reset): a temporary hardware breakpoint
# on the Swift entry point kmain (Sources/Kernel/Entry.swift), then continue. kmain is the Swift
# function itself (`@c(kmain)`), so gdb stops at its first statement, and `next`, `step` and `bt`
# work on Swift lines and frames from there.
define run-to-kmain
  thbreak kmain
  continue
end
document run-to-kmain
A temporary hardware breakpoint on kmain and continue: stops at the first Swift statement.
end
