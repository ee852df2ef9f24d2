; Statically reserved kernel memory (.bss): descriptor-table storage that the Swift kernel
; fills in (Sources/Kernel/GlobalDescriptorTable.swift, InterruptDescriptorTable.swift).
; The boot stack, the IST stacks for #DF, NMI and #MC (SDM Vol. 3A 6.14.5, "Interrupt Stack
; Table"), the boot page tables and the early heap are not here: they live in early memory
; below 1 MiB (linker/kernel.ld), which the page allocator never hands out. Everything here
; counts towards the loaded image size.

global kernel_gdt, kernel_tss, kernel_idt

section .bss nobits alloc noexec write align=16

align 16
kernel_gdt:         resq 8          ; null, code, data, TSS (two slots), spare
kernel_tss:         resb 128        ; 104-byte 64-bit TSS (SDM Vol. 3A 8.7), rounded up
kernel_idt:         resq 2 * 32     ; 32 16-byte gates, vectors 0-31
