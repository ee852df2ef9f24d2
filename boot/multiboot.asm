; Multiboot headers (Multiboot Specification 0.6.96 section 3.1; Multiboot2 Specification
; 2.0 section 3.1). One image boots both ways:
;  - multiboot1, used by QEMU -kernel: QEMU only loads a 64-bit ELF through the a.out kludge
;    (flag bit 16 with explicit load/bss/entry addresses), so the header carries them;
;  - multiboot2, used by GRUB from the ISO: GRUB loads the ELF's PT_LOAD segment itself.
; Both enter _start (boot/entry.asm) in 32-bit protected mode with paging off.
; linker/kernel.ld keeps this section first, at the image's first byte, so the headers lie
; within the first 8 KiB (mb1) / 32 KiB (mb2) of the file as the specifications require.

extern _start
extern __kernel_start           ; first loaded byte (linker/kernel.ld)
extern __load_end               ; end of the file-backed part (.text, .rodata, .data)
extern __kernel_end             ; end of .bss

MB1_MAGIC           equ 0x1BADB002
MB1_PAGE_ALIGN      equ 1 << 0      ; align modules on 4 KiB pages
MB1_MEMORY_INFO     equ 1 << 1      ; mem_lower/mem_upper and the memory map (mmap_*)
MB1_AOUT_KLUDGE     equ 1 << 16     ; the address fields below are valid
MB1_FLAGS           equ MB1_PAGE_ALIGN | MB1_MEMORY_INFO | MB1_AOUT_KLUDGE

MB2_MAGIC           equ 0xE85250D6
MB2_ARCH_I386       equ 0           ; 32-bit protected mode entry
MB2_TAG_END         equ 0
MB2_TAG_INFO_REQUEST equ 1
MB2_TAG_MODULE_ALIGN equ 6
MB2_INFO_CMDLINE    equ 1
MB2_INFO_MODULE     equ 3
MB2_INFO_MMAP       equ 6

section .multiboot progbits alloc noexec nowrite align=8

align 4
multiboot1_header:
    dd MB1_MAGIC
    dd MB1_FLAGS
    dd -(MB1_MAGIC + MB1_FLAGS)     ; checksum: the three fields sum to 0
    dd multiboot1_header            ; header_addr
    dd __kernel_start               ; load_addr
    dd __load_end                   ; load_end_addr
    dd __kernel_end                 ; bss_end_addr: the loader zeroes [load_end, bss_end)
    dd _start                       ; entry_addr

align 8
multiboot2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd multiboot2_header_end - multiboot2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (multiboot2_header_end - multiboot2_header))

    ; The information the kernel needs: the memory map is required, the rest it can do without.
align 8
.info_request:
    dw MB2_TAG_INFO_REQUEST, 0
    dd .info_request_end - .info_request
    dd MB2_INFO_MMAP
    dd MB2_INFO_CMDLINE
    dd MB2_INFO_MODULE
.info_request_end:

align 8
.module_align:                      ; modules on page boundaries
    dw MB2_TAG_MODULE_ALIGN, 0
    dd 8

align 8
    dw MB2_TAG_END, 0
    dd 8
multiboot2_header_end:
