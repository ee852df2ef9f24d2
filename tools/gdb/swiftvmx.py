# gdb helpers for the SwiftVMX kernel (loaded by tools/gdb/swiftvmx.gdb; docs/DEBUGGING.md).
#
#   vmx-state            the current vCPU as the kernel last recorded it (the debug snapshot)
#   vmx-exits            exit counters per reason and the ring of the last exits
#   vmx-detail on|off    whether the kernel VMREADs the guest-state fields at every exit
#   swift-break NAME     hardware breakpoints on the Swift functions whose demangled name
#                        contains NAME (e.g. `swift-break enableVMX`)
#   swiftvmx-log [N]     the last N lines (default 20) of the kernel's serial log
#
# Swift frames are shown demangled (swift-demangle --simplified) by a frame filter.
#
# gdb cannot execute VMREAD: it stops the whole machine, not the hypervisor. So the kernel copies
# the guest state into `swiftvmx_debug_snapshot` at every VM exit (Sources/Hypervisor/
# DebugSnapshot.swift); SNAPSHOT_SLOTS below is its layout, slot n at byte 8 * n, and
# Tests/HypervisorTests/SharedConstantsTests.swift parses this file and checks that SNAPSHOT_*,
# STATISTICS_* and EXIT_REASONS agree with the Swift definitions.
import itertools
import os
import shutil
import subprocess

import gdb

SNAPSHOT_SYMBOL = "swiftvmx_debug_snapshot"
SNAPSHOT_MAGIC = 0x5041_4E53_584D_5653  # "SVMXSNAP"
SNAPSHOT_SLOTS = [
    "magic", "versionAndSize", "sequence", "exitsRecorded", "detail", "vmcs", "exitStatistics",
    "guestName0", "guestName1", "guestName2", "guestName3",
    "exitReason", "exitQualification", "guestRIP",
    "guestRSP", "guestRFLAGS", "guestCR0", "guestCR3", "guestCR4", "guestIA32EFER",
    "guestCSSelector", "guestCSAccessRights",
    "guestPhysicalAddress", "guestLinearAddress",
    "exitInterruptionInformation", "exitInterruptionErrorCode", "idtVectoringInformation",
    "exitInstructionLength", "guestInterruptibilityState", "guestActivityState",
    "rax", "rcx", "rdx", "rbx", "unusedRSP", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
]
SLOT = {name: index for index, name in enumerate(SNAPSHOT_SLOTS)}

# Sources/Hypervisor/Exits/ExitStatistics.swift
STATISTICS_MAGIC = 0x5441_5453_584D_5653  # "SVMXSTAT"
STATISTICS_COUNTERS = 80
STATISTICS_RING_OFFSET = 0x2A0
# Lines a guest caused that were not written, by kind (GuestLines.swift, ExitStatistics.swift).
STATISTICS_LINES_OFFSET = 0x5A0
STATISTICS_LINE_KINDS = ["PRINT lines", "COM1 lines", "exceptions reflected", "refused port accesses",
                         "refused MSR accesses", "refused instructions", "interrupt and single-step events"]
STATISTICS_RING_ENTRY = 24

# SDM Appendix C, Table C-1 (the same names as Sources/VMX/ExitReason.swift).
EXIT_REASONS = {
    0: "Exception or non-maskable interrupt (NMI)",
    1: "External interrupt",
    2: "Triple fault",
    3: "INIT signal",
    4: "Start-up IPI (SIPI)",
    5: "I/O system-management interrupt (SMI)",
    6: "Other SMI",
    7: "Interrupt window",
    8: "NMI window",
    9: "Task switch",
    10: "CPUID",
    11: "GETSEC",
    12: "HLT",
    13: "INVD",
    14: "INVLPG",
    15: "RDPMC",
    16: "RDTSC",
    17: "RSM",
    18: "VMCALL",
    19: "VMCLEAR",
    20: "VMLAUNCH",
    21: "VMPTRLD",
    22: "VMPTRST",
    23: "VMREAD",
    24: "VMRESUME",
    25: "VMWRITE",
    26: "VMXOFF",
    27: "VMXON",
    28: "Control-register accesses",
    29: "MOV DR",
    30: "I/O instruction",
    31: "RDMSR",
    32: "WRMSR",
    33: "VM-entry failure due to invalid guest state",
    34: "VM-entry failure due to MSR loading",
    36: "MWAIT",
    37: "Monitor trap flag",
    39: "MONITOR",
    40: "PAUSE",
    41: "VM-entry failure due to machine-check event",
    43: "TPR below threshold",
    44: "APIC access",
    45: "Virtualized EOI",
    46: "Access to GDTR or IDTR",
    47: "Access to LDTR or TR",
    48: "EPT violation",
    49: "EPT misconfiguration",
    50: "INVEPT",
    51: "RDTSCP",
    52: "VMX-preemption timer expired",
    53: "INVVPID",
    54: "WBINVD or WBNOINVD",
    55: "XSETBV",
    56: "APIC write",
    57: "RDRAND",
    58: "INVPCID",
    59: "VMFUNC",
    60: "ENCLS",
    61: "RDSEED",
    62: "Page-modification log full",
    63: "XSAVES",
    64: "XRSTORS",
    65: "PCONFIG",
    66: "SPP-related event",
    67: "UMWAIT",
    68: "TPAUSE",
    69: "LOADIWKEY",
    70: "ENCLV",
    72: "ENQCMD PASID translation failure",
    73: "ENQCMDS PASID translation failure",
    74: "Bus lock",
    75: "Instruction timeout",
    76: "SEAMCALL",
    77: "TDCALL",
}

# Bit names, lowest bit first (SDM Vol. 3A 2.3, 2.5; Vol. 1 3.4.3).
RFLAGS_BITS = {0: "CF", 2: "PF", 4: "AF", 6: "ZF", 7: "SF", 8: "TF", 9: "IF", 10: "DF", 11: "OF",
               14: "NT", 16: "RF", 17: "VM", 18: "AC", 19: "VIF", 20: "VIP", 21: "ID"}
CR0_BITS = {0: "PE", 1: "MP", 2: "EM", 3: "TS", 4: "ET", 5: "NE", 16: "WP", 18: "AM", 29: "NW",
            30: "CD", 31: "PG"}
CR4_BITS = {0: "VME", 1: "PVI", 2: "TSD", 3: "DE", 4: "PSE", 5: "PAE", 6: "MCE", 7: "PGE", 8: "PCE",
            9: "OSFXSR", 10: "OSXMMEXCPT", 11: "UMIP", 12: "LA57", 13: "VMXE", 14: "SMXE",
            16: "FSGSBASE", 17: "PCIDE", 18: "OSXSAVE", 20: "SMEP", 21: "SMAP", 22: "PKE",
            23: "CET", 24: "PKS"}
EFER_BITS = {0: "SCE", 8: "LME", 10: "LMA", 11: "NXE"}
# SDM 25.8.3 / 28.2.2: interruption types.
INTERRUPTION_TYPES = {0: "external interrupt", 2: "NMI", 3: "hardware exception",
                      4: "software interrupt", 5: "privileged software exception",
                      6: "software exception", 7: "other event"}
EXCEPTIONS = {0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM",
              8: "#DF", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF",
              17: "#AC", 18: "#MC", 19: "#XM", 20: "#VE", 21: "#CP"}
ACTIVITY_STATES = {0: "active", 1: "HLT", 2: "shutdown", 3: "wait-for-SIPI"}


def flags(value, names):
    return " ".join(name for bit, name in sorted(names.items()) if value >> bit & 1)


def read_u64(address):
    data = gdb.selected_inferior().read_memory(address, 8).tobytes()
    return int.from_bytes(data, "little")


def symbol_address(name):
    try:
        return int(gdb.parse_and_eval("(unsigned long)&" + name))
    except gdb.error:
        return None


def exit_reason_text(reason):
    basic = reason & 0xFFFF
    text = f"{basic} ({EXIT_REASONS.get(basic, 'reason not defined by the SDM')})"
    if reason >> 31 & 1:
        text += ", VM-entry failure"
    return text


def interruption_text(info, error_code):
    """VM-exit interruption information or IDT-vectoring information (SDM 25.9.2, 25.9.3)."""
    if not info >> 31 & 1:
        return "not valid"
    vector, kind = info & 0xFF, info >> 8 & 7
    text = f"{INTERRUPTION_TYPES.get(kind, 'reserved type')}, vector {vector}"
    if kind in (3, 5, 6) and vector in EXCEPTIONS:
        text += f" ({EXCEPTIONS[vector]})"
    if info >> 11 & 1:
        text += f", error code {error_code:#x}"
    if info >> 12 & 1:
        text += ", NMI unblocking due to IRET"
    return text


def code_segment_text(access_rights, efer):
    if access_rights >> 16 & 1:
        return "unusable"
    if efer >> 10 & 1 and access_rights >> 13 & 1:
        return "64-bit code"
    if access_rights >> 14 & 1:
        return "32-bit code"
    return "16-bit code"


class Snapshot:
    def __init__(self):
        self.base = symbol_address(SNAPSHOT_SYMBOL)
        if self.base is None:
            raise gdb.GdbError(f"no symbol {SNAPSHOT_SYMBOL}: load the kernel's ELF (file build/debug/kernel.elf)")
        self.values = [read_u64(self.base + 8 * i) for i in range(len(SNAPSHOT_SLOTS))]

    def __getitem__(self, name):
        return self.values[SLOT[name]]

    @property
    def valid(self):
        return self["magic"] == SNAPSHOT_MAGIC

    @property
    def guest_name(self):
        raw = b"".join(self[f"guestName{i}"].to_bytes(8, "little") for i in range(4))
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


class VMXState(gdb.Command):
    """Prints the current vCPU as the kernel recorded it at the last VM exit (the debug snapshot)."""

    def __init__(self):
        super().__init__("vmx-state", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        s = Snapshot()
        if not s.valid:
            print(f"vmx-state: no snapshot at {s.base:#x} yet (magic {s['magic']:#x}): the kernel "
                  "writes it when the hypervisor starts")
            return
        version, size = s["versionAndSize"] & 0xFFFF_FFFF, s["versionAndSize"] >> 32
        print(f"debug snapshot v{version} ({size} bytes at {s.base:#x}), sequence {s['sequence']}"
              + (" (being written: the fields may be torn)" if s["sequence"] & 1 else ""))
        if s["vmcs"] == 0:
            print("no guest yet")
            return
        detail = s["detail"] != 0
        print(f'guest "{s.guest_name}", VMCS {s["vmcs"]:#x}, {s["exitsRecorded"]} VM exits recorded, '
              f"detail {'on' if detail else 'off (vmx-detail on)'}")
        if s["exitsRecorded"] == 0:
            return
        print(f"last exit: reason {exit_reason_text(s['exitReason'])}, "
              f"qualification {s['exitQualification']:#x}")
        print(f"  RIP {s['guestRIP']:#018x}")
        if detail:
            efer = s["guestIA32EFER"]
            print(f"  RSP {s['guestRSP']:#018x}  RFLAGS {s['guestRFLAGS']:#x} [{flags(s['guestRFLAGS'], RFLAGS_BITS)}]")
            print(f"  CR0 {s['guestCR0']:#x} [{flags(s['guestCR0'], CR0_BITS)}]")
            print(f"  CR3 {s['guestCR3']:#x}")
            print(f"  CR4 {s['guestCR4']:#x} [{flags(s['guestCR4'], CR4_BITS)}]")
            print(f"  IA32_EFER {efer:#x} [{flags(efer, EFER_BITS)}]")
            print(f"  CS {s['guestCSSelector']:#06x}, access rights {s['guestCSAccessRights']:#x} "
                  f"({code_segment_text(s['guestCSAccessRights'], efer)})")
            print(f"  guest-physical address {s['guestPhysicalAddress']:#x}, "
                  f"guest linear address {s['guestLinearAddress']:#x}")
            print(f"  exit interruption: {interruption_text(s['exitInterruptionInformation'], s['exitInterruptionErrorCode'])}")
            print(f"  IDT vectoring: {interruption_text(s['idtVectoringInformation'], 0)}")
            print(f"  instruction length {s['exitInstructionLength']}, interruptibility "
                  f"{s['guestInterruptibilityState']:#x}, activity state {s['guestActivityState']} "
                  f"({ACTIVITY_STATES.get(s['guestActivityState'], 'reserved')})")
        names = ["rax", "rcx", "rdx", "rbx", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
                 "r13", "r14", "r15"]
        for row in range(0, len(names), 4):
            print("  " + "  ".join(f"{n.upper():>3} {s[n]:#018x}" for n in names[row:row + 4]))


class VMXExits(gdb.Command):
    """Prints the exit counters that are not zero and the ring of the last VM exits, oldest first."""

    def __init__(self):
        super().__init__("vmx-exits", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        s = Snapshot()
        base = s["exitStatistics"] if s.valid else 0
        if base == 0:
            print("vmx-exits: no exit statistics page recorded in the snapshot yet")
            return
        if read_u64(base) != STATISTICS_MAGIC:
            print(f"vmx-exits: no exit statistics at {base:#x} (magic {read_u64(base):#x})")
            return
        total, next_slot, capacity = read_u64(base + 8), read_u64(base + 16), read_u64(base + 24)
        print(f"{total} VM exits (statistics page at {base:#x})")
        for reason in range(STATISTICS_COUNTERS):
            count = read_u64(base + 0x20 + 8 * reason)
            if count:
                print(f"  {count:>8} x {exit_reason_text(reason)}")
        for index, kind in enumerate(STATISTICS_LINE_KINDS):
            count = read_u64(base + STATISTICS_LINES_OFFSET + 8 * index)
            if count:
                print(f"  {count:>8} {kind} not logged")
        held = min(total, capacity)
        print(f"last {held} VM exits, oldest first:")
        for i in range(held):
            slot = (next_slot + capacity - held + i) % capacity
            entry = base + STATISTICS_RING_OFFSET + STATISTICS_RING_ENTRY * slot
            print(f"  reason {exit_reason_text(read_u64(entry))}, qualification {read_u64(entry + 8):#x}, "
                  f"RIP {read_u64(entry + 16):#x}")


class VMXDetail(gdb.Command):
    """vmx-detail on|off: whether the kernel VMREADs the guest-state fields at every VM exit."""

    def __init__(self):
        super().__init__("vmx-detail", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        s = Snapshot()
        if argument.strip() not in ("on", "off"):
            raise gdb.GdbError("usage: vmx-detail on|off")
        value = 1 if argument.strip() == "on" else 0
        gdb.selected_inferior().write_memory(s.base + 8 * SLOT["detail"], value.to_bytes(8, "little"))
        print(f"vmx-detail: {argument.strip()}")


# MARK: Swift names

def demangler():
    for candidate in (os.path.join(os.environ.get("SWIFT_BIN", "/opt/swift/usr/bin"), "swift-demangle"),
                      shutil.which("swift-demangle")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


_DEMANGLED = {}


def demangle(names):
    """Demangled, simplified names of Swift symbols; others unchanged."""
    todo = [n for n in names if n not in _DEMANGLED and n.startswith(("$e", "$s"))]
    tool = demangler()
    if todo and tool:
        out = subprocess.run([tool, "--simplified"], input="\n".join(todo) + "\n",
                             capture_output=True, text=True).stdout.splitlines()
        if len(out) == len(todo):
            for name, plain in zip(todo, out):
                _DEMANGLED[name] = plain.replace("specialized ", "", 1) if plain.startswith("specialized ") else plain
    return [_DEMANGLED.get(n, n) for n in names]


def first_statement(start):
    """The address of a function's first statement after its prologue, from the line table
    (what `break FUNCTION` would choose), and " (file:line)"; the entry itself if none."""
    # Swift's line table starts a function with a line-0 row and marks its first statement
    # `prologue_end`; gdb stops at the entry then and calls it "no line number information".
    block = gdb.block_for_pc(start)
    end = block.end if block is not None else start + 1
    # Disassemble the ELF's bytes, not the target's: at reset QEMU has not loaded the image yet.
    trusted = gdb.parameter("trust-readonly-sections")
    gdb.execute("set trust-readonly-sections on")
    try:
        instructions = gdb.selected_inferior().architecture().disassemble(start, end - 1)
    except (gdb.error, AttributeError):
        return start, ""
    finally:
        gdb.execute(f"set trust-readonly-sections {'on' if trusted else 'off'}")
    for instruction in instructions[1:]:
        sal = gdb.find_pc_line(instruction["addr"])
        # The first line-table row after the entry that names a line: where gdb's own
        # `break FUNCTION` would stop (the prologue's end).
        if sal.symtab is not None and sal.line > 0 and sal.pc == instruction["addr"]:
            return instruction["addr"], f" ({os.path.basename(sal.symtab.filename)}:{sal.line})"
    return start, ""


class SwiftBreak(gdb.Command):
    """swift-break NAME: hardware breakpoints on every function whose demangled Swift name contains NAME.

    Embedded Swift's mangling defeats `break Module.function`; this matches the demangled names
    (as `swift-demangle --simplified` prints them, e.g. `enableVMX<A>(on:arena:quiet:)`)."""

    def __init__(self):
        super().__init__("swift-break", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, argument, from_tty):
        needle = argument.strip()
        if not needle:
            raise gdb.GdbError("usage: swift-break NAME")
        listing = gdb.execute("info functions -q -n ^\\$[es]", to_string=True)
        mangled = set()
        for line in listing.splitlines():
            # "static void $e6Kernel6SerialO10initializeyyFZ(...);" or "0x0000000000100000  $e6..." (no debug info)
            for word in line.replace("(", " ").split():
                if word.startswith(("$e", "$s")):
                    mangled.add(word.rstrip(";"))
        names = sorted(mangled)
        matches = [(m, d) for m, d in zip(names, demangle(names)) if needle in d]
        if not matches:
            raise gdb.GdbError(f"swift-break: no Swift function matches {needle!r}")
        for m, d in matches:
            start = symbol_address("'" + m + "'")
            if start is None:
                continue
            address, where = first_statement(start)
            before = {b.number for b in gdb.breakpoints()}
            gdb.execute(f"hbreak *{address:#x}", to_string=True)
            number = max({b.number for b in gdb.breakpoints()} - before, default=0)
            print(f"Hardware breakpoint {number} at {address:#x}: {d}{where}")


class SwiftVMXLog(gdb.Command):
    """swiftvmx-log [N]: the last N lines (default 20) of the kernel's serial log ($SWIFTVMX_SERIAL_LOG)."""

    def __init__(self):
        super().__init__("swiftvmx-log", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        count = int(argument) if argument.strip() else 20
        path = os.environ.get("SWIFTVMX_SERIAL_LOG", "build/logs/gdb-qemu.log")
        try:
            with open(path, errors="replace") as f:
                lines = f.read().replace("\r", "").splitlines()
        except OSError as error:
            raise gdb.GdbError(f"swiftvmx-log: {error}")
        for line in lines[-count:]:
            print(line)


# MARK: Demangled frames

try:
    from gdb.FrameDecorator import FrameDecorator

    class SwiftFrame(FrameDecorator):
        def function(self):
            name = super().function()
            if isinstance(name, int):
                # No debug symbol (boot/entry.asm): the base class hands gdb the frame's pc, which
                # gdb names by the label at that address (kmain's return address is the label
                # `long_mode_entry.halt`); gdb's own name looks up the calling instruction.
                name = self.inferior_frame().name() or name
            if isinstance(name, str) and name.startswith(("$e", "$s")):
                return demangle([name])[0]
            return name

    class SwiftFrameFilter:
        def __init__(self):
            self.name = "swiftvmx-demangle"
            self.priority = 100
            self.enabled = True
            gdb.frame_filters[self.name] = self

        def filter(self, frames):
            # boot/entry.asm calls kmain on the boot stack and has no call frame information:
            # gdb guesses one more frame above it from whatever lies beyond the stack's top
            # ("0x0000000000000000 in  ()"). The stack ends at the first frame at address 0.
            live = itertools.takewhile(lambda f: f.inferior_frame().pc() != 0, frames)
            return map(SwiftFrame, live)

    SwiftFrameFilter()
except ImportError:
    pass

VMXState()
VMXExits()
VMXDetail()
SwiftBreak()
SwiftVMXLog()
