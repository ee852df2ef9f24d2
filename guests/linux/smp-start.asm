; A kernel image that is not Linux but speaks Linux's boot protocol (boot-protocol.inc) and
; starts its application processors the way an operating system does (SDM Vol. 3A 9.4.4,
; "MP Initialization Example"): the boot-test guest of several virtual CPUs (docs/LINUX.md,
; "Several processors"; Tests/boot/run.py --smp). Loaded as a pass-through guest, it
;   1. finds the ACPI MADT from the zero page's acpi_rsdp_addr (RSDP, then XSDT or RSDT) and
;      its own APIC ID (CPUID.1:EBX[31:24]);
;   2. copies a real-mode trampoline to the lowest usable page (zero page's E820 table) at or
;      above 64 KiB and below 1 MiB, whose number is the SIPI vector;
;   3. for every enabled processor of the MADT but itself, writes INIT, then SIPI twice, to
;      the local APIC's interrupt command register (the page the MADT names), waiting between
;      them, and waits (bounded) until the processor checks in from the trampoline: it reads
;      its APIC ID with CPUID, says so with the PRINT hypercall, counts itself in, and halts;
;   4. sends the first one INIT again, then SIPI, and waits for it to check in again: an INIT
;      to a halted application processor returns it to wait-for-SIPI; then 1000 SIPIs while it
;      runs, none of which may restart it;
;   5. sends INIT and SIPI to an APIC ID none of its processors has (the hypervisor drops them);
;   6. says how many started and shuts down (hypercall SHUT_DOWN, code: how many did not).
; Every line goes through the PRINT hypercall (docs/HYPERCALLS.md) and starts "smp-start:".
; Position-independent (the loader picks the address); the boot protocol's page tables map
; the first 4 GiB one to one, so linear addresses are physical ones.

%include "guest.inc"
%include "boot-protocol.inc"

; The zero page (Documentation/arch/x86/zero-page.rst).
ZP_ACPI_RSDP_ADDR   equ 0x070
ZP_E820_ENTRIES     equ 0x1E8
ZP_E820_TABLE       equ 0x2D0
E820_ENTRY_SIZE     equ 20
E820_TYPE_RAM       equ 1
; ACPI (ACPI 6.5, 5.2.5 RSDP, 5.2.6 header, 5.2.12 MADT).
RSDP_REVISION       equ 15
RSDP_RSDT           equ 16
RSDP_XSDT           equ 24
TABLE_LENGTH        equ 4
TABLE_ENTRIES       equ 36
MADT_APIC_ADDRESS   equ 36
MADT_STRUCTURES     equ 44
MADT_LOCAL_APIC     equ 0           ; type 0: processor ID +2, APIC ID +3, flags +4 (bit 0 enabled)
; The local APIC's interrupt command register (SDM Vol. 3A 11.6.1).
APIC_ICR_LOW        equ 0x300
APIC_ICR_HIGH       equ 0x310
ICR_INIT            equ 0x4500      ; delivery mode INIT, level assert
ICR_STARTUP         equ 0x4600      ; delivery mode start-up, the vector in bits 7:0
; Where the trampoline may go: not the real-mode IVT and BIOS data below 64 KiB, below 1 MiB.
LOWEST_TRAMPOLINE   equ 0x10000
REAL_MODE_TOP       equ 0x100000
PAGE                equ 0x1000
; The waits, in PAUSE loops: the hypervisor takes INIT and SIPI itself and needs none, but an
; operating system waits about 10 ms after INIT and 200 us after a SIPI (SDM Vol. 3A 9.4.4.1).
AFTER_INIT_PAUSES   equ 100000
AFTER_SIPI_PAUSES   equ 2000
CHECK_IN_PAUSES     equ 1 << 26
SIPI_FLOOD          equ 1000
STRANGER_APIC_ID    equ 0xFE

; The line being built: text_start, APPEND "literal", append_decimal (EAX), text_print.
%macro APPEND 1
    jmp %%after
%%text: db %1
%%end:
%%after:
    lea rsi, [rel %%text]
    mov ecx, %%end - %%text
    call append_bytes
%endmacro

pm_start:
    times 0x200 db 0xF4             ; the 32-bit entry, unused: HLT
    bits 64
    default rel
entry64:
    mov r15, rsi                    ; the zero page
    mov eax, 1
    cpuid
    shr ebx, 24
    mov [own_apic_id], ebx
    mov rsi, [r15 + ZP_ACPI_RSDP_ADDR]
    test rsi, rsi
    jz no_madt
    call find_madt
    test rax, rax
    jz no_madt
    mov r14, rax                    ; the MADT
    mov r12d, [r14 + MADT_APIC_ADDRESS]
    call find_trampoline_page
    test rax, rax
    jz no_trampoline_page
    mov r13, rax
    lea rsi, [trampoline]
    mov rdi, r13
    mov ecx, trampoline_end - trampoline
    rep movsb

    ; Each enabled processor of the MADT but this one.
    lea rbx, [r14 + MADT_STRUCTURES]
    mov eax, [r14 + TABLE_LENGTH]
    lea rbp, [r14 + rax]            ; the MADT's end
.next_structure:
    lea rax, [rbx + 2]
    cmp rax, rbp
    ja .all_sent
    movzx ecx, byte [rbx + 1]       ; the structure's length
    cmp ecx, 2
    jb .all_sent                    ; malformed: stop walking
    cmp byte [rbx], MADT_LOCAL_APIC
    jne .skip
    cmp ecx, 8
    jb .skip
    test byte [rbx + 4], 1
    jz .skip
    movzx edi, byte [rbx + 3]
    cmp edi, [own_apic_id]
    je .skip
    inc dword [expected]
    cmp dword [first_ap], -1
    jne .not_first
    mov [first_ap], edi
.not_first:
    push rbx
    push rbp
    call start_application_processor
    pop rbp
    pop rbx
    movzx ecx, byte [rbx + 1]
.skip:
    add rbx, rcx
    jmp .next_structure

.all_sent:
    ; The first application processor again: INIT, then SIPI.
    mov edi, [first_ap]
    cmp edi, -1
    je .strangers
    mov [again], byte 1
    call start_application_processor
    ; A flood of SIPIs at it, running: each is discarded (SDM 26.2), none restarts it.
    mov r8d, [r13 + ap_count - trampoline]
    mov r9d, [first_ap]
    shl r9d, 24
    mov r10d, r13d
    shr r10d, 12
    or r10d, ICR_STARTUP
    mov ebx, SIPI_FLOOD
.flood:
    mov [r12 + APIC_ICR_HIGH], r9d
    mov [r12 + APIC_ICR_LOW], r10d
    dec ebx
    jnz .flood
    mov ecx, CHECK_IN_PAUSES >> 4
    call pause_loop
    cmp [r13 + ap_count - trampoline], r8d
    jne .restarted
    PRINT "smp-start: 1000 SIPIs to a running application processor: none restarted it"
    jmp near .strangers             ; near: a short jump here makes nasm's sizing oscillate
.restarted:
    PRINT "smp-start: a SIPI restarted a running application processor"
.strangers:
    ; INIT and SIPI to an APIC ID that is none of its processors: the hypervisor drops both.
    mov r9d, STRANGER_APIC_ID << 24
    mov [r12 + APIC_ICR_HIGH], r9d
    mov dword [r12 + APIC_ICR_LOW], ICR_INIT
    mov [r12 + APIC_ICR_HIGH], r9d
    mov dword [r12 + APIC_ICR_LOW], ICR_STARTUP
.summary:
    call text_start
    APPEND "smp-start: "
    mov eax, [started]
    call append_decimal
    APPEND " of "
    mov eax, [expected]
    call append_decimal
    APPEND " application processors started"
    call text_print
    mov ebx, [expected]
    sub ebx, [started]
    jmp shut_down

no_madt:
    PRINT "smp-start: no ACPI MADT (acpi_rsdp_addr, RSDT/XSDT): no application processors to start"
    mov ebx, 1
    jmp shut_down
no_trampoline_page:
    PRINT "smp-start: no usable E820 page between 64 KiB and 1 MiB for the trampoline"
    mov ebx, 1
shut_down:
    mov eax, HC_SHUT_DOWN
    vmcall
.stuck:
    hlt
    jmp .stuck

; Starts the processor with APIC ID EDI (INIT, SIPI, SIPI; or INIT, SIPI when [again] is set)
; and reports whether it checked in with that APIC ID. R12: the local APIC; R13: the trampoline.
start_application_processor:
    mov r8d, [r13 + ap_count - trampoline]
    mov r9d, edi
    shl r9d, 24
    mov [r12 + APIC_ICR_HIGH], r9d
    mov dword [r12 + APIC_ICR_LOW], ICR_INIT
    mov ecx, AFTER_INIT_PAUSES
    call pause_loop
    mov r10d, r13d
    shr r10d, 12
    or r10d, ICR_STARTUP            ; the vector: the trampoline's page number
    mov [r12 + APIC_ICR_HIGH], r9d
    mov [r12 + APIC_ICR_LOW], r10d
    mov ecx, AFTER_SIPI_PAUSES
    call pause_loop
    cmp byte [again], 0
    jne .wait
    ; A second SIPI, as the SDM's example sends (the first may have been lost).
    mov [r12 + APIC_ICR_HIGH], r9d
    mov [r12 + APIC_ICR_LOW], r10d
    mov ecx, AFTER_SIPI_PAUSES
    call pause_loop
.wait:
    mov ecx, CHECK_IN_PAUSES
.poll:
    cmp [r13 + ap_count - trampoline], r8d
    jne .checked_in
    pause
    dec ecx
    jnz .poll
    call text_start
    APPEND "smp-start: application processor APIC ID "
    mov eax, edi
    call append_decimal
    APPEND " did not start"
    jmp text_print
.checked_in:
    push rdi
    call text_start
    APPEND "smp-start: application processor APIC ID "
    mov eax, [rsp]
    call append_decimal
    cmp byte [again], 0
    je .first_time
    APPEND " started again after INIT"
    jmp .reported
.first_time:
    APPEND " started"
.reported:
    APPEND " (it reports APIC ID "
    mov eax, [r13 + ap_apic_id - trampoline]
    call append_decimal
    APPEND ")"
    call text_print
    pop rdi
    mov eax, [r13 + ap_apic_id - trampoline]
    cmp eax, edi
    jne .done
    cmp byte [again], 0
    jne .done
    inc dword [started]
.done:
    ret

pause_loop:                         ; ECX: how many PAUSEs
    pause
    dec ecx
    jnz pause_loop
    ret

; RSI: the RSDP. Returns RAX: the MADT, or 0.
find_madt:
    mov rax, 'RSD PTR '
    cmp [rsi], rax
    jne .none
    mov r8d, 4                      ; RSDT: 32-bit entries
    mov edx, [rsi + RSDP_RSDT]
    cmp byte [rsi + RSDP_REVISION], 2
    jb .walk
    mov rax, [rsi + RSDP_XSDT]
    test rax, rax
    jz .walk
    mov rdx, rax                    ; XSDT: 64-bit entries
    mov r8d, 8
.walk:
    test rdx, rdx
    jz .none
    mov ecx, [rdx + TABLE_LENGTH]
    lea r9, [rdx + rcx]             ; the table's end
    lea r10, [rdx + TABLE_ENTRIES]
.next:
    lea rax, [r10 + r8]
    cmp rax, r9
    ja .none
    mov eax, [r10]
    cmp r8d, 8
    jne .have
    mov rax, [r10]
.have:
    test rax, rax
    jz .skip
    cmp dword [rax], 'APIC'
    je .found
.skip:
    add r10, r8
    jmp .next
.none:
    xor eax, eax
.found:
    ret

; Returns RAX: the lowest page of E820 RAM in [LOWEST_TRAMPOLINE, REAL_MODE_TOP), or 0.
find_trampoline_page:
    mov rax, -1
    movzx ecx, byte [r15 + ZP_E820_ENTRIES]
    lea rsi, [r15 + ZP_E820_TABLE]
.entry:
    test ecx, ecx
    jz .done
    cmp dword [rsi + 16], E820_TYPE_RAM
    jne .skip
    mov rdx, [rsi]                  ; base
    mov r8, [rsi + 8]
    add r8, rdx                     ; end
    mov r9d, LOWEST_TRAMPOLINE
    cmp rdx, r9
    cmovb rdx, r9
    add rdx, PAGE - 1
    and rdx, -PAGE
    mov r9d, REAL_MODE_TOP
    cmp r8, r9
    cmova r8, r9
    lea r9, [rdx + PAGE]
    cmp r9, r8
    ja .skip
    cmp rdx, rax
    cmovb rax, rdx
.skip:
    add rsi, E820_ENTRY_SIZE
    dec ecx
    jmp .entry
.done:
    cmp rax, -1
    jne .found
    xor eax, eax
.found:
    ret

text_start:
    lea rax, [line]
    mov [line_end], rax
    ret
append_bytes:                       ; RSI, ECX: the bytes
    push rdi
    mov rdi, [line_end]
    rep movsb
    mov [line_end], rdi
    pop rdi
    ret
append_decimal:                     ; EAX: the number
    push rdi
    push rbx
    lea rdi, [digits_end]
    mov ebx, 10
.digit:
    xor edx, edx
    div ebx
    add dl, '0'
    dec rdi
    mov [rdi], dl
    test eax, eax
    jnz .digit
    mov rsi, rdi
    lea rcx, [digits_end]
    sub rcx, rdi
    call append_bytes
    pop rbx
    pop rdi
    ret
text_print:
    mov eax, HC_PRINT
    lea rbx, [line]
    mov rcx, [line_end]
    sub rcx, rbx
    vmcall
    ret

; The application processors' start: real mode, CS = vector << 8, IP = 0 (SDM Vol. 3A 9.4.4.1).
    bits 16
trampoline:
    cli
    mov ax, cs
    mov ds, ax
    mov eax, 1
    cpuid
    shr ebx, 24
    mov [ap_apic_id - trampoline], ebx
    mov bx, cs                      ; the PRINT hypercall takes a linear address
    movzx ebx, bx
    shl ebx, 4
    add ebx, ap_message - trampoline
    mov eax, HC_PRINT
    mov ecx, ap_message_end - ap_message
    vmcall
    lock inc dword [ap_count - trampoline]
.halt:
    hlt
    jmp .halt
ap_message: db "smp-start: an application processor runs in real mode from its SIPI"
ap_message_end:
    align 4
ap_apic_id: dd -1
ap_count:   dd 0
trampoline_end:

    bits 64
    align 8
own_apic_id: dd 0
first_ap:   dd -1
expected:   dd 0
started:    dd 0
again:      db 0
    align 8
line_end:   dq 0
digits:     times 12 db 0
digits_end:
line:       times 256 db 0
    align 16
pm_end:
