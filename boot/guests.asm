; The built-in guests (guests/*.asm, assembled by the Makefile into build/guests/*.bin),
; linked into the kernel image, and their table: name, options (the same `key=value` options
; a boot module's command line takes, docs/GUESTS.md), image address and size. An entry with
; a null name ends the table (Sources/Kernel/HostAndGuests.swift reads it).

%macro BUILTIN_GUEST 3              ; name, image file, options
[section .rodata]
%%name:     db %1, 0
%%options:  db %3, 0
align 16
%%image:    incbin %2
%%end:
[section .rodata.builtin_guest_table]
            dq %%name, %%options, %%image, %%end - %%image
%endmacro

section .rodata.builtin_guest_table progbits alloc noexec nowrite align=8
global builtin_guest_table
builtin_guest_table:

BUILTIN_GUEST "hello64", "hello64.bin", "mode=long load=0x10000"
BUILTIN_GUEST "realmode", "realmode.bin", "mode=real load=0x7c00"
BUILTIN_GUEST "events64", "events64.bin", "mode=long load=0x10000"
BUILTIN_GUEST "bad64", "bad64.bin", "mode=long load=0x10000"
BUILTIN_GUEST "triple", "triple.bin", "mode=long load=0x10000"
BUILTIN_GUEST "loop", "loop.bin", "mode=long load=0x10000"
BUILTIN_GUEST "ept", "ept.bin", "mode=long load=0x10000 ept=required"
BUILTIN_GUEST "traps64", "traps64.bin", "mode=long load=0x10000 ept=required"
BUILTIN_GUEST "pae32", "pae32.bin", "mode=protected load=0x10000 ept=required"
BUILTIN_GUEST "tss32", "tss32.bin", "mode=protected load=0x10000 ept=required"
BUILTIN_GUEST "bench", "bench.bin", "mode=long load=0x10000 touch=0x100000 budget=2000000000"

[section .rodata.builtin_guest_table]
            dq 0, 0, 0, 0
