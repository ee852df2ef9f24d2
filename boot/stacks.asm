; Statically reserved kernel memory (.bss): the boot stack, the IST stacks for #DF, NMI and
; #MC (SDM Vol. 3A 6.14.5, "Interrupt Stack Table"), descriptor-table storage that the Swift
; kernel fills in (Sources/Kernel/GlobalDescriptorTable.swift, InterruptDescriptorTable.swift)
; and the early heap used before the page allocator exists (Sources/Kernel/Heap.swift).
; Everything here counts towards the loaded image size, so the sizes are kept small.

global boot_stack_top
global double_fault_stack_top, nmi_stack_top, machine_check_stack_top
global kernel_gdt, kernel_tss, kernel_idt
global early_heap_start, early_heap_end
global boot_stack_bottom

; The boot stack carries kmain until the page allocator exists; the kernel then moves to a
; larger stack made of allocated pages (Sources/Kernel/Entry.swift). The exception report
; needs well under 1 KiB of stack (docs/KERNEL.md).
BOOT_STACK_SIZE equ 4096
IST_STACK_SIZE  equ 2048
EARLY_HEAP_SIZE equ 4096

section .bss nobits alloc noexec write align=16

align 16
boot_stack_bottom:
boot_stack:         resb BOOT_STACK_SIZE
boot_stack_top:
double_fault_stack: resb IST_STACK_SIZE
double_fault_stack_top:
nmi_stack:          resb IST_STACK_SIZE
nmi_stack_top:
machine_check_stack: resb IST_STACK_SIZE
machine_check_stack_top:

align 16
kernel_gdt:         resq 8          ; null, code, data, TSS (two slots), spare
kernel_tss:         resb 128        ; 104-byte 64-bit TSS (SDM Vol. 3A 8.7), rounded up
kernel_idt:         resq 2 * 32     ; 32 16-byte gates, vectors 0-31

align 16
early_heap_start:   resb EARLY_HEAP_SIZE
early_heap_end:
