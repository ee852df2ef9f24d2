; vmx-probe: executes VMXON with a memory operand from user mode (ring 3).
; VMXON faults with #UD when CR4.VMXE = 0 (and with #GP(0) at CPL > 0 otherwise); Linux turns
; either into a signal (#UD: SIGILL, shell status 132). Under SwiftVMX the guest gets #UD
; whatever it does: VMX is not available to guests. If VMXON ever returns, the status is 0.
%include "probe.inc"

        section .text
        global _start
_start:
        sub rsp, 16
        mov qword [rsp], 0      ; a VMXON region's physical address (never used)
        vmxon [rsp]
        xor edi, edi
        EXIT
