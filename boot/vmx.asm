; VM entry and exit (SDM 27 "VM Entries", 28 "VM Exits"), and the assembly baseline of
; `make bench`.
;
; vmx_enter_guest(GuestRegisters *registers, int launch) -> 0 after a VM exit, 1 VMfailInvalid,
; 2 VMfailValid (the VMX_* outcomes of Intrinsics.h). It saves the host's callee-saved
; registers, its x87/SSE state (MXCSR and the x87 control word are callee-saved in the System V
; ABI; the Swift code uses the XMM registers) and its GDTR/IDTR (a VM exit sets both limits to
; FFFFH, SDM 28.5.2), writes HOST_RSP (this frame), loads the guest's x87/SSE state (a clean
; one on VMLAUNCH: FNINIT, MXCSR 1F80H, XMM0-15 zero) and its general-purpose registers from
; *registers (layout: GuestRegisters in Sources/VMX/GuestProcessor.swift, x86 register order,
; 8 bytes each, slot 4 unused), and executes VMLAUNCH or VMRESUME. VMLAUNCH/VMRESUME return
; here only when they fail. A VM exit continues at vmx_exit_stub (HOST_RIP) on this frame's
; stack: it stores the guest's registers and x87/SSE state, restores the host's and returns 0
; from vmx_enter_guest.
;
; The guest's x87/SSE state lives between exits in the running processor's per-CPU block, at
; GS base + PERCPU_GUEST_FX (Sources/Kernel/Processors.swift, PerCPU.guestFXOffset): one guest
; at a time on each processor, guests on several processors at once. GS base is the host's in
; both places (the VMCS's host GS base is this processor's).

bits 64

VMCS_HOST_RSP                   equ 0x6C14
VMCS_EXIT_REASON                equ 0x4402
VMCS_EXIT_QUALIFICATION         equ 0x6400
VMCS_EXIT_INSTRUCTION_LENGTH    equ 0x440C
VMCS_GUEST_RIP                  equ 0x681E
VMCS_GUEST_INTERRUPTIBILITY     equ 0x4824
VMCS_GUEST_RFLAGS               equ 0x6820
VMCS_GUEST_PHYSICAL_ADDRESS     equ 0x2400
VMCS_EPT_POINTER                equ 0x201A
VMCS_GUEST_IA32_PAT             equ 0x2804
VMCS_VM_ENTRY_CONTROLS          equ 0x4012
VMCS_GUEST_DR7                  equ 0x681A

; The frame below the six pushed registers.
FRAME_REGISTERS     equ 0           ; GuestRegisters *
FRAME_FX            equ 16          ; host FXSAVE area, 512 bytes, 16-byte aligned
FRAME_GDTR          equ 528         ; 10 bytes
FRAME_IDTR          equ 544         ; 10 bytes
FRAME_SIZE          equ 568         ; keeps RSP 16-byte aligned (8 + 6 * 8 + 568 = 624)
PERCPU_GUEST_FX     equ 1024        ; 512 bytes, 16-byte aligned in the page-aligned block

section .text

global vmx_enter_guest, vmx_exit_stub, vmx_baseline_run

vmx_enter_guest:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    sub rsp, FRAME_SIZE
    mov [rsp + FRAME_REGISTERS], rdi
    fxsave64 [rsp + FRAME_FX]
    sgdt [rsp + FRAME_GDTR]
    sidt [rsp + FRAME_IDTR]
    test esi, esi
    jz .guest_fx
    fninit                          ; a new guest: clean x87/SSE state
    ldmxcsr [rel default_mxcsr]
    pxor xmm0, xmm0
    pxor xmm1, xmm1
    pxor xmm2, xmm2
    pxor xmm3, xmm3
    pxor xmm4, xmm4
    pxor xmm5, xmm5
    pxor xmm6, xmm6
    pxor xmm7, xmm7
    pxor xmm8, xmm8
    pxor xmm9, xmm9
    pxor xmm10, xmm10
    pxor xmm11, xmm11
    pxor xmm12, xmm12
    pxor xmm13, xmm13
    pxor xmm14, xmm14
    pxor xmm15, xmm15
    jmp .fx_done
.guest_fx:
    fxrstor64 [gs:PERCPU_GUEST_FX]
.fx_done:
    mov rax, VMCS_HOST_RSP
    vmwrite rax, rsp
    ; MOV does not change RFLAGS: ZF still tells launch from resume after the loads.
    test esi, esi
    mov rax, [rdi + 0]
    mov rcx, [rdi + 8]
    mov rdx, [rdi + 16]
    mov rbx, [rdi + 24]
    mov rbp, [rdi + 40]
    mov rsi, [rdi + 48]
    mov r8, [rdi + 64]
    mov r9, [rdi + 72]
    mov r10, [rdi + 80]
    mov r11, [rdi + 88]
    mov r12, [rdi + 96]
    mov r13, [rdi + 104]
    mov r14, [rdi + 112]
    mov r15, [rdi + 120]
    mov rdi, [rdi + 56]
    jnz .launch
    vmresume
    jmp .failed
.launch:
    vmlaunch
.failed:
    ; VMfailInvalid sets CF, VMfailValid sets ZF (SDM 31.2).
    mov eax, 1
    jc .return_failure
    mov eax, 2
.return_failure:
    fxrstor64 [rsp + FRAME_FX]
    jmp leave_frame

vmx_exit_stub:
    ; RSP = HOST_RSP: the frame of vmx_enter_guest. RFLAGS = 2 (SDM 28.5.3).
    push rdi
    mov rdi, [rsp + 8 + FRAME_REGISTERS]
    mov [rdi + 0], rax
    mov [rdi + 8], rcx
    mov [rdi + 16], rdx
    mov [rdi + 24], rbx
    mov [rdi + 40], rbp
    mov [rdi + 48], rsi
    mov [rdi + 64], r8
    mov [rdi + 72], r9
    mov [rdi + 80], r10
    mov [rdi + 88], r11
    mov [rdi + 96], r12
    mov [rdi + 104], r13
    mov [rdi + 112], r14
    mov [rdi + 120], r15
    pop qword [rdi + 56]
    fxsave64 [gs:PERCPU_GUEST_FX]
    fxrstor64 [rsp + FRAME_FX]
    lgdt [rsp + FRAME_GDTR]
    lidt [rsp + FRAME_IDTR]
    xor eax, eax
leave_frame:
    add rsp, FRAME_SIZE
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; vmx_baseline_run(GuestRegisters *registers, int launch, uint64_t statistics) -> as
; vmx_enter_guest. The benchmark's baseline: the same entry and exit (vmx_enter_guest), with
; the statistics recorded exactly as ExitStatistics.record does (Sources/Hypervisor/Exits/
; ExitStatistics.swift: counters at +20H, total at +8, ring index at +10H, ring of 24-byte
; entries at +2A0H, 32 slots) and three exits handled here as the Swift handlers handle them:
;  - CPUID (reason 10) of leaves below 40000000H: executed, with leaf 1's ECX masked as
;    GuestCPUID does (VMX, SMX, XSAVE, OSXSAVE, AVX, F16C, FMA cleared, hypervisor bit set);
;  - VMCALL (18) GET_VERSION at CPL 0: RAX 0, RBX 10000H, RCX "SVMX";
;  - OUT (30) of one byte to port 80H, not string: ignored;
;  - RDMSR (31) of IA32_PAT: the guest's PAT field with "load IA32_PAT" on VM entry, else the
;    power-up value (MSRExits.swift);
; each followed by the instruction skip (RIP += length, STI/MOV-SS blocking cleared); and
;  - EPT violation (48) of a page reserved for first touch (EPT.mapOnFirstTouch): the EPT walk
;    from the EPT pointer, the leaf's permissions set, the access retried (no skip). As in
; VirtualCPU.skipInstruction and skipIOInstruction, guest RFLAGS (TF, RF) and, for OUT, DR7 are
; read first: a single step or an I/O breakpoint goes to the Swift handlers. Any other exit
; returns 0 to the Swift run loop, which dispatches it without recording it again.
LEAF1_ECX_HIDDEN    equ (1 << 5) | (1 << 6) | (1 << 12) | (1 << 26) | (1 << 27) | (1 << 28) | (1 << 29)
STATISTICS_TOTAL    equ 0x08
STATISTICS_NEXT     equ 0x10
STATISTICS_COUNTERS equ 0x20
STATISTICS_RING     equ 0x2A0
VMCS_GUEST_SS_ACCESS_RIGHTS equ 0x4818
RFLAGS_TF_RF        equ (1 << 8) | (1 << 16)
MSR_IA32_PAT        equ 0x277
ENTRY_LOAD_IA32_PAT equ 1 << 14
POWER_UP_PAT        equ 0x0007040600070406
EPT_ADDRESS_MASK    equ 0x000FFFFFFFFFF000
EPT_PAGE_SIZE       equ 1 << 7

vmx_baseline_run:
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov r14, rdi                    ; GuestRegisters *
    mov r12d, esi                   ; launch
    mov r13, rdx                    ; statistics page
.loop:
    mov rdi, r14
    mov esi, r12d
    call vmx_enter_guest
    test eax, eax
    jnz .return
    xor r12d, r12d
    mov ecx, VMCS_EXIT_REASON
    vmread r8, rcx
    mov ecx, VMCS_EXIT_QUALIFICATION
    vmread r9, rcx
    mov ecx, VMCS_GUEST_RIP
    vmread r10, rcx
    movzx eax, r8w
    cmp eax, 80
    jae .counted
    inc qword [r13 + STATISTICS_COUNTERS + rax * 8]
.counted:
    inc qword [r13 + STATISTICS_TOTAL]
    mov rax, [r13 + STATISTICS_NEXT]
    lea rcx, [rax + rax * 2]
    lea rcx, [r13 + STATISTICS_RING + rcx * 8]
    mov [rcx], r8
    mov [rcx + 8], r9
    mov [rcx + 16], r10
    inc eax
    and eax, 31
    mov [r13 + STATISTICS_NEXT], rax
    cmp r8d, 48
    je .ept_violation
    mov ecx, VMCS_GUEST_RFLAGS
    vmread rax, rcx
    test eax, RFLAGS_TF_RF
    jnz .to_swift
    cmp r8d, 10
    je .cpuid
    cmp r8d, 18
    je .vmcall
    cmp r8d, 30
    je .io
    cmp r8d, 31
    je .rdmsr
.to_swift:
    xor eax, eax
.return:
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    ret

.cpuid:
    mov eax, [r14 + 0]
    cmp eax, 0x40000000
    jae .to_swift
    mov r15d, eax
    mov ecx, [r14 + 8]
    cpuid
    cmp r15d, 1
    jne .cpuid_store
    and ecx, ~LEAF1_ECX_HIDDEN
    or ecx, 1 << 31
.cpuid_store:
    mov [r14 + 0], rax              ; CPUID clears bits 63:32 of RAX-RDX
    mov [r14 + 8], rcx
    mov [r14 + 16], rdx
    mov [r14 + 24], rbx
    jmp .skip

.vmcall:
    cmp qword [r14 + 0], 0
    jne .to_swift
    mov ecx, VMCS_GUEST_SS_ACCESS_RIGHTS
    vmread rax, rcx
    test eax, 3 << 5                ; SS.DPL = CPL
    jnz .to_swift
    mov qword [r14 + 24], 0x00010000
    mov qword [r14 + 8], 0x584D5653
    jmp .skip

.io:
    mov rax, r9
    and eax, 0xFFFF007F             ; port, operand encoding, REP, string, direction, size
    and eax, ~(1 << 6)              ; DX or immediate: the same
    cmp eax, 0x00800000             ; OUT, one byte, port 80H, not string
    jne .to_swift
    mov ecx, VMCS_GUEST_DR7
    vmread rax, rcx
    test al, al                     ; L0-L3, G0-G3: a breakpoint may match the port
    jnz .to_swift
    jmp .skip

.rdmsr:
    cmp dword [r14 + 8], MSR_IA32_PAT
    jne .to_swift
    mov ecx, VMCS_VM_ENTRY_CONTROLS
    vmread rax, rcx
    test eax, ENTRY_LOAD_IA32_PAT
    jz .power_up_pat
    mov ecx, VMCS_GUEST_IA32_PAT
    vmread rax, rcx
    jmp .pat
.power_up_pat:
    mov rax, POWER_UP_PAT
.pat:
    mov rdx, rax
    shr rdx, 32
    mov eax, eax
    mov [r14 + 0], rax
    mov [r14 + 16], rdx
    jmp .skip

.ept_violation:
    mov ecx, VMCS_GUEST_PHYSICAL_ADDRESS
    vmread rax, rcx
    mov r9, rax
    shr r9, 48                      ; a 4-level walk translates bits 47:0
    jnz .to_swift
    mov ecx, VMCS_EPT_POINTER
    vmread rdx, rcx
    mov r11, EPT_ADDRESS_MASK
    and rdx, r11
    mov ecx, 39
.ept_walk:                          ; PML4, PDPT, PD: present, not a large page
    mov r9, rax
    shr r9, cl
    and r9d, 511
    mov r9, [rdx + r9 * 8]
    test r9d, 7
    jz .to_swift
    test r9d, EPT_PAGE_SIZE
    jnz .to_swift
    and r9, r11
    mov rdx, r9
    sub ecx, 9
    cmp ecx, 12
    jne .ept_walk
    mov r9, rax                     ; the 4-KiB entry: not present, its address filled in
    shr r9, 12
    and r9d, 511
    lea rdx, [rdx + r9 * 8]
    mov r9, [rdx]
    test r9d, 7
    jnz .to_swift
    test r9, r11
    jz .to_swift
    or r9, 7                        ; read, write, execute
    mov [rdx], r9
    jmp .loop

.skip:
    mov ecx, VMCS_EXIT_INSTRUCTION_LENGTH
    vmread rax, rcx
    add rax, r10
    mov ecx, VMCS_GUEST_RIP
    vmwrite rcx, rax
    mov ecx, VMCS_GUEST_INTERRUPTIBILITY
    vmread rax, rcx
    test eax, 3
    jz .loop
    and eax, ~3
    vmwrite rcx, rax
    jmp .loop

section .rodata
align 4
default_mxcsr: dd 0x1F80

section .bss
global swiftvmx_exit_statistics
align 8
; The physical address of the exit-statistics page (ExitStatistics.swift), for debuggers.
swiftvmx_exit_statistics: resq 1
