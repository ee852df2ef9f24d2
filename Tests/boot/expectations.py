"""What each machine must print, from the measured facts (Tests/fixtures, docs/GUESTS.md "Bochs 2.7 and the SDM"): the boot-test oracle.

Every run must end with the fixed final line; the exit status alone can be faked (a guest's
`xchg bx, bx` ends a Bochs run with status 0), so both are checked.
"""

import re

FINAL_SUCCESS = "SWIFTVMX EXIT: success"
FINAL_FAILURE = "SWIFTVMX EXIT: failure"

# Bochs 2.7 CPU models, by what they offer (`bochs --help cpu`; probed: Tests/fixtures).
NO_LONG_MODE = {
    "pentium", "pentium_mmx", "amd_k6_2_chomper", "p2_klamath", "p3_katmai",
    "p4_willamette", "core_duo_t2400_yonah", "atom_n270",
}
NO_VMX = {
    "p4_prescott_celeron_336", "athlon64_clawhammer", "athlon64_venice", "turion64_tyler",
    "phenom_8650_toliman", "zambezi", "trinity_apu", "ryzen",
}
VMX = {
    "bx_generic", "core2_penryn_t9600", "corei5_lynnfield_750", "corei5_arrandale_m520",
    "corei7_sandy_bridge_2600k", "corei7_ivy_bridge_3770k", "corei7_haswell_4770",
    "broadwell_ult", "corei7_skylake_x", "corei3_cnl", "corei7_icelake_u", "tigerlake",
}

# What the VMX models offer that changes what the guests can do (from Tests/fixtures/*.fixture:
# secondary controls "enable EPT" and "unrestricted guest", pin-based "activate VMX-preemption
# timer", primary "monitor trap flag").
NO_EPT = {"bx_generic", "core2_penryn_t9600"}                  # no EPT, no unrestricted guest
EPT_WITHOUT_UNRESTRICTED_GUEST = {"corei5_lynnfield_750"}
NO_PREEMPTION_TIMER = {"bx_generic", "core2_penryn_t9600"}
# The monitor trap flag may be 1 here, but Bochs 2.7 delivers no MTF VM exit after VM entry
# (the hypervisor's probe sees the guest run to its HLT): single steps fall back to RFLAGS.TF.
MONITOR_TRAP_FLAG = {"corei7_icelake_u", "tigerlake"}
# EPT models whose CPUID.1:ECX.PCID[bit 17] is 0 (Tests/fixtures): traps64 cannot set CR4.PCIDE.
NO_PCID = {"corei5_lynnfield_750", "corei5_arrandale_m520"}

LONG_MODE_MISSING = "FATAL: long mode not supported"
VMX_MISSING = "FATAL: VMX not supported: CPUID.1:ECX.VMX[bit 5] = 0"
VMX_ENTERED = "VMX: VMXON succeeded: in VMX root operation"
VMX_LEFT = "VMX: VMXOFF succeeded, CR4.VMXE cleared"
REPORT_HEADER = "IA32_VMX_BASIC"
# More boot modules than the early heap holds (Sources/Kernel/Heap.swift, linker/kernel.ld).
EARLY_HEAP_FULL = "FATAL: the early heap [0x4000, 0x6000) is full ("
EARLY_HEAP_FULL_END = (" more bytes wanted) before the page allocator exists: the boot information lists more "
                       "modules or memory-map entries than it can hold")
# The modules of boot/grub-test.cfg with a line feed, ESC and 297 bytes in a name, and a forged
# final line and stop line in quotes (GRUB passes both through): the boot report shows them
# escaped and cut at 128 bytes of escaped text, never as lines of their own.
HOSTILE_MODULE_LINES = [
    '"guest name=evil\\x0aSWIFTVMX\\x1b[2JNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN...(331 bytes)"',
    '"guest name=forge \\x22\\x0aSWIFTVMX EXIT: success\\x0aguest hello64 stopped: halted (HLT) (82 VM exits)\\x22 mode=\\x0aFATAL:\\x1b[0m ...(122 bytes)"',
]
# The boot tests' ISO passes `gdb` (boot/grub-test.cfg): the release kernel has no guest
# debugger and must say that it ignores the option (docs/DEBUGGING.md).
GDB_IGNORED = "gdb: ignored: the guest debugger is in the debug image only (make gdb-guest, docs/DEBUGGING.md)"


def refused_mode(name, mode):
    return (f'guest {name}: refused: a guest starting in {mode} needs "unrestricted guest" and EPT, '
            "which this CPU does not offer")


def guest_lines(model, modules=True):
    """The bootstrap processor's guest lines, in order, for a VMX model booted from
    build/swiftvmx-test.iso: the VMCS set-up, the built-in guests of boot/guests.asm, then the
    modules of boot/grub-test.cfg (without `modules`: the exit statistics instead). Guest lines
    carry the guest's prefix ("[name]" or "[name:com1]"); the others are the hypervisor's. RIPs
    come from the guests' binaries (guests/*.asm)."""
    ept = model not in NO_EPT
    lines = ["VMCS: controls:"]
    if model in NO_PREEMPTION_TIMER:
        lines.append("VMCS: gave up pin-based VM-execution controls: Activate VMX-preemption timer")
    if not ept:
        lines.append("VMCS: gave up secondary processor-based VM-execution controls (without usable EPT): "
                     "Enable EPT, Unrestricted guest")
    if model in MONITOR_TRAP_FLAG:
        lines.append("VMCS: monitor trap flag allowed, but the probe's first VM exit was 12 (HLT), "
                     "not 37 (Monitor trap flag): single steps use RFLAGS.TF and #DB exiting")
    return lines + builtin_guest_lines(model) + (module_guest_lines(model) if modules else EXIT_STATISTICS)


EXIT_STATISTICS = ["exit statistics: ", "last 32 VM exits, oldest first:"]


def _timer(model):
    return "VMX-preemption timer" if model not in NO_PREEMPTION_TIMER else "host timer"


def _start(model):
    placement = "2 MiB at guest-physical 0x0 (host " if model not in NO_EPT else "no EPT, budget"

    def start(name, mode, entry):
        return [f"guest {name}: {mode}, entry {entry}, ", placement, f"({_timer(model)})"]
    return start


# The built-in guests (boot/guests.asm, less the benchmark guest): every processor runs them.
BUILTIN_GUESTS = 10


def builtin_guest_lines(model):
    """The built-in guests' lines, in order: the same on every processor."""
    ept = model not in NO_EPT
    unrestricted = ept and model not in EPT_WITHOUT_UNRESTRICTED_GUEST
    timer = _timer(model)
    start = _start(model)
    lines = []
    # hello64: COM1, CPUID, hypercalls.
    lines += start("hello64", "64-bit mode", "0x10000") + [
        "[hello64:com1] hello from a 64-bit guest on COM1",
        "[hello64] CPUID 40000000H: highest leaf 0x40000001",
        "[hello64] hypervisor signature: SwiftVMX",
        "[hello64] CPUID.1:ECX.hypervisor[bit 31] = 0x1",
        "[hello64] CPUID.1:ECX.VMX[bit 5] = 0x0",
        "[hello64] hypercall ABI version 0x10000",
        "[hello64] hello from a 64-bit guest, through the PRINT hypercall",
        "guest hello64 stopped: halted (HLT) (82 VM exits)",
    ]
    # realmode: reset-like start, real mode, CR0 exit into protected mode, EPT violation.
    realmode = REALMODE
    if unrestricted:
        lines += start("realmode", "real mode", "0x7c00") + [l.format("realmode") for l in realmode]
    else:
        lines.append(refused_mode("realmode", "real mode"))
    # events64: #BP reflected, interrupt window, injection, shadows, CR8, single steps.
    stepping = "RFLAGS.TF and #DB exiting"
    lines += start("events64", "64-bit mode", "0x10000") + [
        "[events64] IDT installed",
        "guest events64: #BP (INT3) at RIP 0x10028, reflected to the guest",
        "[events64] caught exception 0x3",
        "[events64] vector 40H requested with interrupts off",
        "guest events64: interrupt window open at RIP 0x10077",
        "guest events64: external interrupt 0x40 injected",
        "[events64] interrupt delivered: vector 0x40",
        "[events64] interrupts on again",
        "guest events64: external interrupt 0x40 injected",
        "[events64] interrupt delivered: vector 0x40",
        "[events64] CR0 reads 0x80010033",
        "[events64] CR4 reads 0x620",
        "[events64] IA32_EFER reads 0x500",
        "[events64] CR8 reads 0x5",
        f"guest events64: single-stepping 4 instructions with {stepping}",
        "guest events64: step 1: RIP 0x10153",
        "guest events64: step 2: RIP 0x10158",
        "guest events64: step 3: RIP 0x1015a",
        "guest events64: step 4: RIP 0x1015b",
        "[events64] four instructions stepped",
        "guest events64 stopped: halted (HLT) (25 VM exits)",
    ]
    # bad64: every forbidden access answered, the guest catches each fault.
    gp, ud = "[bad64] caught exception 0xd", "[bad64] caught exception 0x6"
    lines += start("bad64", "64-bit mode", "0x10000") + [
        "[bad64] IDT installed; now doing what a guest may not",
        "guest bad64: OUT to port 0x00f4 (QEMU isa-debug-exit: the host's exit port) denied: #GP(0) injected", gp,
        "guest bad64: OUT to port 0x8900 (Bochs shutdown port: the host's exit port) denied: #GP(0) injected", gp,
        "guest bad64: OUT to port 0x02f8 (COM2: the host's guest-debugger line) denied: #GP(0) injected", gp,
        "guest bad64: OUT to port 0x0020 (8259A PIC, master) denied: #GP(0) injected", gp,
        "guest bad64: IN from port 0x00a1 (8259A PIC, slave) denied: #GP(0) injected", gp,
        "guest bad64: RDMSR 0x00000480 (IA32_VMX_BASIC (VMX capability)) denied: #GP(0) injected", gp,
        "guest bad64: WRMSR 0x0000003a (IA32_FEATURE_CONTROL) denied: #GP(0) injected", gp,
        "guest bad64: 27 (VMXON) at RIP 0x100dc: VMX is not available to guests: #UD injected", ud,
        "guest bad64: 19 (VMCLEAR) at RIP 0x100f2: VMX is not available to guests: #UD injected", ud,
        "guest bad64: 21 (VMPTRLD) at RIP 0x10108: VMX is not available to guests: #UD injected", ud,
        "guest bad64: 23 (VMREAD) at RIP 0x1011d: VMX is not available to guests: #UD injected", ud,
        "guest bad64: 25 (VMWRITE) at RIP 0x1012e: VMX is not available to guests: #UD injected", ud,
        "guest bad64: 20 (VMLAUNCH) at RIP 0x1013f: VMX is not available to guests: #UD injected", ud,
        "guest bad64: 50 (INVEPT) at RIP 0x10150: VMX is not available to guests: #UD injected", ud,
        "guest bad64: MOV to CR4 0x2620: #GP(0) injected (cr4.hidden-feature, SDM Vol. 2B MOV CR; 3A 2.5)", gp,
        ud,   # GETSEC: #UD without an exit (CR4.SMXE = 0)
        ud,   # XSETBV: #UD without an exit (CR4.OSXSAVE = 0)
        "guest bad64: INVD at RIP 0x10195 emulated as a no-op",
        "[bad64] still running: the hypervisor survived every forbidden access",
        "guest bad64 stopped: halted (HLT) (53 VM exits)",
    ]
    # triple: dead; loop: stopped by its budget; ept: a violation (EPT only).
    lines += start("triple", "64-bit mode", "0x10000") + [
        "[triple] loading an empty IDT and executing UD2",
        "guest triple stopped: triple fault: the guest is dead (2 VM exits)",
    ]
    lines += start("loop", "64-bit mode", "0x10000") + [
        "[loop] spinning forever",
        f"guest loop stopped: time budget of 20000000 TSC cycles exhausted ({timer})",
    ]
    if ept:
        lines += start("ept", "64-bit mode", "0x10000") + [
            "[ept] reading guest-physical 40000000H, which this guest was not given",
            "guest ept: EPT violation at RIP 0x1006b: read of guest-physical 0x40000000 "
            "(linear 0x200000, the translated address); page not present",
            "guest ept stopped: EPT violation at guest-physical 0x40000000 (2 VM exits)",
        ]
    else:
        lines.append("guest ept: refused: this guest needs EPT (ept=required), which this CPU does not offer")
    # traps64: debug traps after emulated instructions, a CR0 write's #GP with CR4.PCIDE (EPT only).
    if ept:
        lines += start("traps64", "64-bit mode", "0x10000") + [
            "[traps64] IDT installed",
            "[traps64] #DB after a single-stepped CPUID: 0x1",
            "[traps64] DR6 BS/B3-B0: 0x4000",
            "[traps64] #DB after OUT 80H with an I/O breakpoint: 0x1",
            "[traps64] DR6 BS/B3-B0: 0x1",
        ] + ([
            "[traps64] no PCID: CR4.PCIDE not tried",
            "guest traps64 stopped: halted (HLT) (10 VM exits)",
        ] if model in NO_PCID else [
            "[traps64] CR4.PCIDE set",
            "guest traps64: MOV to CR0 0x10033: #GP(0) injected (cr0.pg-clear-with-pcide, SDM Vol. 2B MOV CR; 3A 4.10.1)",
            "[traps64] caught exception 0xd",
            "[traps64] back in 64-bit mode, CR0 reads 0x80010033",
            "guest traps64 stopped: halted (HLT) (14 VM exits)",
        ])
    else:
        lines.append("guest traps64: refused: this guest needs EPT (ept=required), which this CPU does not offer")
    # pae32: PAE paging under EPT, the PDPTEs loaded by the hypervisor; reserved PDPTE bits.
    if unrestricted:
        lines += start("pae32", "32-bit protected mode", "0x10000") + [
            "[pae32] PAE paging on",
            "[pae32] MOV to CR3: linear 40000000H maps guest-physical 0 through PDPTE1",
            "guest pae32: MOV to CR0: PDPTE3 0x21003 has reserved bits set: #GP(0) injected (pdpte.reserved, SDM Vol. 3A 4.4.1)",
            "[pae32] caught #GP",
            "[pae32] paging still off",
            "[pae32] caught #GP",
            "[pae32] CR3 unchanged",
            "guest pae32 stopped: halted (HLT) (11 VM exits)",
        ]
    else:
        lines.append(refused_mode("pae32", "32-bit protected mode"))
    # tss32: task switches performed by the hypervisor (CALL, IRET, JMP, a #DF task gate) and
    # the faults of bad TSS descriptors.
    if unrestricted:
        lines += start("tss32", "32-bit protected mode", "0x10000") + [
            "[tss32] task A: TR loaded",
            "[tss32] task B: back link 0x18",
            "[tss32] task B: EFLAGS.NT 0x4000",
            "[tss32] task B: TR 0x20",
            "[tss32] task A again after IRET, EBP 0x7a5ca11",
            "[tss32] task A: TR 0x18",
            "[tss32] task A: CR0.TS 0x8",
            "[tss32] task B again after JMP: EFLAGS.NT 0x0",
            "[tss32] task A again after JMP",
            "[tss32] caught #NP, error code 0x28",
            "[tss32] caught #TS, error code 0x30",
            "[tss32] caught #GP, error code 0x18",
            "guest tss32: task switch to TSS selector 0x0040 at RIP 0x10267: exception 0xa (error code 0x58) injected",
            "[tss32] caught #TS, error code 0x58",
            "[tss32] task C after its #TS: TR 0x40",
            "[tss32] task A again after task C",
            "[tss32] double-fault task: error code 0x0",
            "[tss32] double-fault task: back link 0x18",
            "guest tss32 stopped: halted (HLT) (25 VM exits)",
        ]
    else:
        lines.append(refused_mode("tss32", "32-bit protected mode"))
    return lines


# The realmode guest's lines, also those of the user image user-real ({0}: the guest's name).
REALMODE = [
    "[{0}:com1] hello from real mode on COM1",
    "[{0}] hypervisor signature: SwiftVMX",
    "[{0}:com1] CR0 reads 60000010H, its reset value",
    "[{0}:com1] EDX held the processor signature at reset",
    "[{0}] hello from real mode, through the PRINT hypercall",
    "[{0}] in 32-bit protected mode; writing to the reset-vector page",
    "guest {0}: EPT violation at RIP 0x7cd0: write of guest-physical 0xfffff000 "
    "(linear 0xfffff000, the translated address); page r-x",
    "guest {0} stopped: EPT violation at guest-physical 0xfffff000 (229 VM exits)",
]


def module_guest_lines(model):
    """The lines of the modules of boot/grub-test.cfg (the bootstrap processor runs them):
    user images (EPT only), then bad input."""
    ept = model not in NO_EPT
    unrestricted = ept and model not in EPT_WITHOUT_UNRESTRICTED_GUEST
    timer = _timer(model)
    start = _start(model)
    realmode = REALMODE
    lines = []

    def user_image(name, entry, lines_when_run):
        if not ept:
            return [f"guest {name}: refused: without EPT the hypervisor cannot keep a guest out of its memory, "
                    "so it runs only its built-in guests"]
        return start(name, "64-bit mode", entry) + lines_when_run

    lines += user_image("user64", "0x101000", [
        "[user64] hello from a user-supplied ELF64 image",
        "guest user64 stopped: shut down by the guest (hypercall SHUT_DOWN, code 7) (3 VM exits)",
    ])
    if unrestricted:
        lines += start("user32", "32-bit protected mode", "0x101000") + [
            "[user32:com1] hello from a user-supplied ELF32 image on COM1",
            "[user32] hello from 32-bit protected mode, through the PRINT hypercall",
            "guest user32 stopped: halted (HLT) (97 VM exits)",
        ]
        lines += start("user-real", "real mode", "0x7c00") + [l.format("user-real") for l in realmode]
    else:
        lines.append(refused_mode("user32", "32-bit protected mode"))
        lines.append(refused_mode("user-real", "real mode"))
    # spin: interrupts off and an endless loop; flood: REP OUTSB for ever, the host's time on it
    # counting. Only their budgets (budget=2000000) stop them.
    budget = f"time budget of 2000000 TSC cycles exhausted ({timer})"
    lines += user_image("spin", "0x10000", ["[spin] interrupts off, looping forever",
                                 f"guest spin stopped: {budget} (2 VM exits)"])
    lines += user_image("flood", "0x10000", ["[flood] REP OUTSB of 1 MiB to port 80H, over and over",
                                  f"guest flood stopped: {budget}"])
    # Hostile user images between readings of the TSC by guests/tsc.asm (hostile_costs checks
    # what each cost): their lines bounded per kind, the rest summarised when they stop.
    for index, (name, first, noun) in enumerate(HOSTILE):
        lines += user_image(f"tsc-{index}", "0x10000", [
            f"[tsc-{index}] tsc 0x",
            f"guest tsc-{index} stopped: shut down by the guest (hypercall SHUT_DOWN, code 0)"])
        lines += user_image(name, "0x10000", [first, f"guest {name}: ... and ", f" more {noun} (not logged)",
                                              f"guest {name} stopped: time budget of {HOSTILE_BUDGET} TSC cycles exhausted ({timer})"])
    lines += user_image(f"tsc-{len(HOSTILE)}", "0x10000", [f"[tsc-{len(HOSTILE)}] tsc 0x"])
    # A name with a line feed, an escape sequence and 297 bytes: escaped and cut, so that it
    # can neither start a line nor push the stop line past the line's capacity.
    evil = "evil\\x0aSWIFTVMX\\x1b[2J" + "N" * 41 + "...(297 bytes)"
    lines += user_image(evil, "0x10000", [
        f"[{evil}:com1] hello from a 64-bit guest on COM1",
        f"[{evil}] hello from a 64-bit guest, through the PRINT hypercall",
        f"guest {evil} stopped: halted (HLT) (82 VM exits)",
    ])
    lines += [
        'guest forge: cannot load the image: bad value "\\x0aFATAL:\\x1b[0m" for mode=',
        "guest bad-class: cannot load the image: bad ELF header: EI_CLASS = 0x3",
        "guest no-load: cannot load the image: flat binary without a load address (give load=ADDRESS)",
        "guest too-big: cannot load the image: too big: [0x300000, 0x300597) does not fit the guest's memory "
        "[0x0, 0x200000)",
        "guest overlap: cannot load the image: [0x1f8000, 0x1f8597) overlaps the hypervisor's structures at "
        "0x1f0000 (top 64 KiB of guest memory)",
        'guest bad-option: cannot load the image: unknown option "speed=fast" '
        "(name, mode, load, entry, memory, budget, ept)",
    ] + EXIT_STATISTICS
    return lines


# The hostile user images of boot/grub-test.cfg: name, its first line, what its summary counts.
HOSTILE = [
    ("printflood", "[printflood] flood", "PRINT lines"),
    ("bpflood", "guest bpflood: #BP (INT3) at RIP ", "exceptions reflected"),
    ("msrsweep", "guest msrsweep: RDMSR 0x00000000 (not emulated) denied: #GP(0) injected", "refused MSR accesses"),
    ("portsweep", "guest portsweep: IN from port 0x0000 (not emulated) denied: #GP(0) injected", "refused port accesses"),
]
HOSTILE_BUDGET = 2000000
# What a guest may cost beyond its budget: building, reporting and clearing it.
COST_ALLOWANCE = 10_000_000
# Lines a hostile guest may cause: 64 of its own output or 16 of a kind, the start, the
# summaries and the stop line.
HOSTILE_LINE_LIMIT = 64 + 8


def hostile_costs(log):
    """(name, TSC cycles) per hostile user image, from the readings of guests/tsc.asm before and
    after it: what the machine spent on the guest, measured by a guest, not the hypervisor's own
    account. Empty when the probes did not run (no EPT)."""
    readings = {}
    for line in log.splitlines():
        match = re.match(r"\[tsc-(\d+)\] tsc 0x([0-9a-f]+)\r?$", line)
        if match:
            readings[int(match.group(1))] = int(match.group(2), 16)
    return [(name, readings[i + 1] - readings[i]) for i, (name, _, _) in enumerate(HOSTILE)
            if i in readings and i + 1 in readings]


def log_problems(model, log, modules=True):
    """What the line-by-line comparison cannot see: a line forged from outside (a final line
    before the end, a byte that is not printable ASCII after the kernel's first line), a
    hostile guest (a boot module: with `modules`) that cost more than its budget plus
    COST_ALLOWANCE, or wrote too many lines."""
    problems = []
    lines = log.replace("\r", "").split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("SwiftVMX: ")), len(lines))
    body = [line for line in lines[start:] if line]
    for number, line in enumerate(body[:-1]):
        if line.startswith("SWIFTVMX EXIT") or any(ord(c) < 0x20 or ord(c) > 0x7E for c in line):
            problems.append(f"forged or raw line {number + start + 1}: {line!r}")
    if modules and model in VMX and model not in NO_EPT:
        costs = hostile_costs(log)
        if len(costs) != len(HOSTILE):
            problems.append(f"TSC readings around the hostile guests missing: {costs}")
        for name, cost in costs:
            if cost > HOSTILE_BUDGET + COST_ALLOWANCE:
                problems.append(f"{name} cost {cost} TSC cycles, more than its budget {HOSTILE_BUDGET} + {COST_ALLOWANCE}")
        for name, _, _ in HOSTILE:
            count = sum(1 for line in body if line.startswith(f"guest {name}") or line.startswith(f"[{name}"))
            if count > HOSTILE_LINE_LIMIT:
                problems.append(f"{name} caused {count} lines, more than {HOSTILE_LINE_LIMIT}")
    return problems


def processor_lines(cpus):
    """Every processor (Sources/Kernel/Processors.swift): the MADT's processors (Bochs numbers
    the APIC IDs from 0, the BSP is 0), and for each AP the line that says it is online."""
    ids = " ".join(str(i) for i in range(cpus))
    lines = [f"processors: the ACPI MADT lists {cpus} enabled (APIC IDs {ids}); the bootstrap processor is APIC ID 0"]
    if cpus > 1:
        lines.append("processors: TSC ")
        lines += [f"cpu {i} (APIC ID {i}): online in long mode: stack " for i in range(1, cpus)]
    return lines


def vmx_on_others(cpus):
    return [f"cpu {i} (APIC ID {i}): VMXON succeeded with its own VMXON region at " for i in range(1, cpus)]


def vmx_off_everywhere(cpus):
    return ([f"cpu {i} (APIC ID {i}): VMXOFF succeeded, CR4.VMXE cleared" for i in range(1, cpus)]
            + [VMX_LEFT, f"processors: {cpus} of {cpus} CPUs were virtualised (in VMX root operation), and every one has left it"])


def processor_guest_lines(model):
    """What each application processor prints with its "cpu N: " prefix when the guests run
    on every processor (Sources/Hypervisor/Guests/OtherProcessors.swift): the built-in guests,
    then its summary line."""
    return builtin_guest_lines(model) + [f"guests: {BUILTIN_GUESTS} built-in guests done here, "]


def expected_processor_lines(model, cpus):
    """{N: lines in order} for each application processor N of a run with `cpus` processors."""
    if model not in VMX or cpus < 2:
        return {}
    return {n: processor_guest_lines(model) for n in range(1, cpus)}


def split_by_processor(log):
    """(the log without the application processors' "cpu N: " lines, {N: those lines without
    the prefix, joined}). Lines of different processors never share a line (Serial.swift), so
    each processor's own lines can be compared in order."""
    rest, own = [], {}
    for line in log.split("\n"):
        match = re.match(r"cpu (\d+): (.*)", line)
        if match:
            own.setdefault(int(match.group(1)), []).append(match.group(2))
        else:
            rest.append(line)
    return "\n".join(rest), {n: "\n".join(lines) for n, lines in own.items()}


def bad_start_up_lines(cpus):
    """(lines, success) of build/swiftvmx-smp-bad.iso with `cpus` = 4 (boot/grub-smp-bad.cfg):
    APIC ID 2 listed twice, APIC ID 9 that nobody has, the third AP faulting in its start-up.
    Each is named in one line, and the other processors go on."""
    assert cpus == 4
    return ([
        "processors: the ACPI MADT lists 6 enabled (APIC IDs 0 1 2 3 2 9); the bootstrap processor is APIC ID 0",
        "processors: madt-add: the last 2 9 are the boot command line's, not the MADT's",
        "processors: APIC ID 2 is listed more than once: started once, the other entries left out",
        "processors: TSC ",
        "cpu 1 (APIC ID 1): online in long mode: stack ",
        "cpu 2 (APIC ID 2): online in long mode: stack ",
        "cpu 3 (APIC ID 3): FATAL: exception 14 #PF page fault, error code 0x00000000 at RIP ",
        ", CR2=0x0000000100000000, RSP=",
        "cpu 3 (APIC ID 3): halted and left out; the other processors go on",
        "cpu 3 (APIC ID 3): left out: it faulted during its start-up (the lines above)",
        "cpu 4 (APIC ID 9): left out: no answer within 500 ms of INIT-SIPI-SIPI (never reached the trampoline's claim)",
        VMX_ENTERED,
    ] + vmx_on_others(3) + [
        "cpu 1 (APIC ID 1): VMXOFF succeeded, CR4.VMXE cleared",
        "cpu 2 (APIC ID 2): VMXOFF succeeded, CR4.VMXE cleared",
        VMX_LEFT,
        "processors: 3 of 5 CPUs were virtualised (in VMX root operation), and every one has left it",
        FINAL_SUCCESS,
    ], True)


# build/swiftvmx-smp-guest.iso (boot/grub-smp-guest.cfg): guests/linux/smp-start.asm alone, a
# pass-through guest that starts its application processors with INIT-SIPI-SIPI through its
# local APIC, INITs the first one again and starts it with one SIPI, floods it with SIPIs while
# it runs, and sends INIT and SIPI to an APIC ID none of its processors has (docs/LINUX.md,
# "Several processors"). Without unrestricted guest it gets one virtual CPU and a MADT of one
# processor (and its APIC writes go to the APIC: nothing is dropped).
SMP_GUEST = "smp-start"


def smp_guest_lines(model, cpus):
    """(lines in order, success expected) of the BSP's log with the smp-start guest."""
    members = 1 if model in EPT_WITHOUT_UNRESTRICTED_GUEST else cpus
    aps = members - 1
    guest = [f"guest {SMP_GUEST}: one virtual CPU (nr_cpus=1 added to its command line): "
             "no unrestricted guest (an application processor starts in real mode)"] if members == 1 else []
    guest += [f"guest {SMP_GUEST}: Linux boot protocol 2.15, kernel at "]
    if members == 1:
        guest.append(f"guest {SMP_GUEST}: ACPI: the MADT it reads lists {cpus} processors, {cpus - 1} of them hidden (a "
                     "copy mapped over the original): the guest runs on 1 of them")
    else:
        guest.append(f"guest {SMP_GUEST}: {cpus} virtual CPUs, one per processor: {aps} application processors wait "
                     "for SIPI")
    guest += [f"[{SMP_GUEST}] smp-start: application processor APIC ID {n} started (it reports APIC ID {n})"
              for n in range(1, members)]
    if aps:
        guest += [f"[{SMP_GUEST}] smp-start: application processor APIC ID 1 started again after INIT (it reports "
                  "APIC ID 1)",
                  f"[{SMP_GUEST}] smp-start: 1000 SIPIs to a running application processor: none restarted it",
                  f"guest {SMP_GUEST}: INIT to APIC ID 254, not one of its processors: dropped",
                  f"guest {SMP_GUEST}: SIPI to APIC ID 254, not one of its processors: dropped"]
    guest += [f"[{SMP_GUEST}] smp-start: {aps} of {aps} application processors started",
              f"guest {SMP_GUEST} stopped: shut down by the guest (hypercall SHUT_DOWN, code 0)",
              f"hypervisor image: code and read-only data unchanged across guest {SMP_GUEST}"]
    return (processor_lines(cpus) + [VMX_ENTERED, REPORT_HEADER] + vmx_on_others(cpus) + guest
            + vmx_off_everywhere(cpus) + [FINAL_SUCCESS]), True


def smp_guest_processor_lines(model, cpus):
    """{N: lines in order} of each application processor with the smp-start guest: its
    virtual CPU waits for SIPI, runs the trampoline (the first twice), and stops with the
    guest."""
    if model in EPT_WITHOUT_UNRESTRICTED_GUEST:
        return {}
    started = f"[{SMP_GUEST}] smp-start: an application processor runs in real mode from its SIPI"
    return {n: [f"guest {SMP_GUEST}: virtual CPU {n} (APIC ID {n}) waits for SIPI: VMCS at ", started]
            + ([started] if n == 1 else [])
            + [f"guest {SMP_GUEST} stopped: with the guest, which stopped on another of its virtual CPUs"]
            for n in range(1, cpus)}


def expected_lines(model, cpus=1):
    """(lines that must appear in order, success expected) for a Bochs model with `cpus`
    processors (Bochs `cpu: count=`): with one, booted from build/swiftvmx-test.iso (the boot
    modules and the `gdb` option); with more, from build/swiftvmx-smp.iso (the kernel alone)."""
    modules = cpus == 1
    before = HOSTILE_MODULE_LINES + [GDB_IGNORED] if modules else []
    if model in NO_LONG_MODE:
        return [LONG_MODE_MISSING, FINAL_FAILURE], False
    if model in NO_VMX:
        return before + processor_lines(cpus) + [VMX_MISSING, FINAL_FAILURE], False
    if model in VMX:
        guests = guest_lines(model) if modules else guest_lines(model, modules=False)
        return (before + processor_lines(cpus) + [VMX_ENTERED, REPORT_HEADER]
                + vmx_on_others(cpus) + guests + vmx_off_everywhere(cpus) + [FINAL_SUCCESS]), True
    raise KeyError(f"unknown Bochs CPU model {model}: add it to Tests/boot/expectations.py")
