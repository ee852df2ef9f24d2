#!/usr/bin/env python3
"""Linux boot test: boots build/swiftvmx-linux.iso (the hypervisor with Debian's Linux kernel as
a pass-through guest, boot/grub-linux.cfg) in Bochs on CPU models, and judges each run by two
serial logs: Linux's console (COM3, ttyS2) and the hypervisor's (COM1), and Bochs's status.

Usage: Tests/boot/linux.py [--jobs N] [--timeout S] [--bare | --isolation] [--self-test] [MODEL ...]
  MODEL ...     Bochs CPU models (default: corei7_skylake_x corei5_lynnfield_750)
  --bare        boot build/swiftvmx-linux-bare.iso instead: the same Linux and initramfs without
                the hypervisor (boot/grub-linux-bare.cfg; ignore_bad_msrs=1), judged by
                BARE_LINUX_LINES and Bochs's soft power off: checks the initramfs and this script
  --isolation   the isolation test: build/swiftvmx-linux-isolation.iso and
                build/swiftvmx-linux-isolation-relaxed.iso (iomem=relaxed) on each model, in
                parallel: root in the guest reads and writes the hypervisor's memory through
                /dev/mem, executes VMXON, writes and reads VMX MSRs, resets the machine
                (swiftvmx.mode=isolation, guests/linux/init), then the built-in guest hello64
                runs (after-linux=hello64); judged by ISOLATION_LINUX_LINES and ISOLATION_COM1
  --self-test   judge hand-made logs only (no Bochs): checks the judging logic
Prints one PASS/FAIL line per run and closes with 'N passed, M failed'.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import expectations as ex  # noqa: E402

# MARK: What must be seen (the one place to adjust)

# Lines of Linux's console log (COM3), whole lines after the kernel's "\r" is dropped, in this
# order. guests/linux/init prints them.
LINUX_LINES = ["HYPERVISOR-FLAG: yes", "VMX-FLAG: no", "NPROC: 1", "INIT: poweroff"]
# The same Linux booted by GRUB without the hypervisor (--bare).
BARE_LINUX_LINES = ["HYPERVISOR-FLAG: no", "VMX-FLAG: yes", "NPROC: 1", "INIT: poweroff"]
# The hypervisor's E820 line for the range it keeps (inclusive end, Linux's format), on COM1.
HYPERVISOR_E820 = re.compile(r"^guest linux: E820 reserved \[mem (0x[0-9a-fA-F]+)-(0x[0-9a-fA-F]+)\] hypervisor$")
# Linux's boot-log line for a reserved range; the timestamp "[    0.000000] " may precede it.
LINUX_E820 = re.compile(r"^(?:\[[ 0-9.]+\] )?BIOS-e820: \[mem (0x[0-9a-fA-F]+)-(0x[0-9a-fA-F]+)\] reserved$")
# Lines of the hypervisor's log (COM1), in this order, after its E820 line; each must begin a
# line (the hypervisor may add " (N VM exits)").
COM1_LINES = ["guest linux stopped: powered off (ACPI S5)"]
# The last non-blank line of COM1.
FINAL_LINE = "SWIFTVMX EXIT: success"

# The isolation test (--isolation). Linux's console (COM3), in this order, whole lines (a
# pattern: the whole line must match it). guests/linux/init's run_isolation prints them: the
# largest reserved range above 1 MiB is the hypervisor's; /dev/mem reads zeros there (the
# hypervisor's scratch page) and a write goes nowhere that matters; the second read, a page
# further on, may see the scratch page's last write.
ISOLATION_LINUX_LINES = [
    "MODE: isolation",
    "TARGET: found",
    "DEVMEM-READ: 0x00000000",
    "DEVMEM-WRITE: done",
    re.compile(r"DEVMEM-READ-2: 0x(00000000|5EC0FFEE)"),
    "VMXON: SIGILL",
    "WRMSR-FEATURE-CONTROL: EIO",
    "RDMSR-VMX-BASIC: EIO",
    "RESET: keyboard controller",
]
# Lines that must not be on COM3 at all: Linux outlived its reset.
ISOLATION_LINUX_FORBIDDEN = ["RESET: survived"]
# devmem's failure message when Linux itself refused the access (EPERM): Linux, not the
# hypervisor, kept the guest out, so the test proves nothing.
DEVMEM_REFUSED = re.compile(r"^DEVMEM-[A-Z0-9-]+: failed \(.*(Operation not permitted|EPERM)")
# The hypervisor's log (COM1) after its last E820 line, in this order: (what, pattern matched at
# the start of a line). A group named `address` must lie in one of the hypervisor's reserved
# ranges (HYPERVISOR_E820).
SCRATCH_PAGE = re.compile(r"guest linux: guest-physical (?P<address>0x[0-9a-f]+) is the hypervisor's: "
                          r"mapped to a scratch page \(reads zeros, writes discarded\)$")
ISOLATION_COM1 = [
    ("the /dev/mem read's EPT violation",
     re.compile(r"guest linux: EPT violation at RIP 0x[0-9a-f]+: read of guest-physical (?P<address>0x[0-9a-f]+)")),
    ("the scratch page after the read", SCRATCH_PAGE),
    ("the /dev/mem write's EPT violation",
     re.compile(r"guest linux: EPT violation at RIP 0x[0-9a-f]+: write of guest-physical (?P<address>0x[0-9a-f]+)")),
    ("the scratch page after the write", SCRATCH_PAGE),
    ("VMXON's #UD", re.compile(r"guest linux: 27 \(VMXON\) at RIP 0x[0-9a-f]+: VMX is not available to guests: #UD injected$")),
    ("WRMSR 3AH's #GP", re.compile(r"guest linux: WRMSR 0x0000003a \(IA32_FEATURE_CONTROL\) denied: #GP\(0\) injected$")),
    ("RDMSR 480H's #GP", re.compile(r"guest linux: RDMSR 0x00000480 \(IA32_VMX_BASIC \(VMX capability\)\) denied: "
                                    r"#GP\(0\) injected$")),
    ("Linux's stop at the reset", re.compile(r"guest linux stopped: reset \(keyboard controller reset pulse, port 64H\)")),
    ("the image checksum", re.compile(r"hypervisor image: code and read-only data unchanged across guest linux "
                                      r"\(checksum 0x[0-9a-f]+\)$")),
]


def hello64_after_linux(model):
    """hello64's lines as the boot tests expect them (Tests/boot/expectations.py), for the run
    after Linux (after-linux=hello64): each begins a line; the stop line's VM-exit count is
    left out."""
    lines = [re.sub(r" \(\d+ VM exits\)$", "", line) for line in ex.guest_lines(model)
             if line.startswith(("guest hello64", "[hello64"))]
    return [(f"hello64's line {line!r}", re.compile(re.escape(line))) for line in lines]

DEFAULT_MODELS = ["corei7_skylake_x", "corei5_lynnfield_750"]
# Models with VMX but no EPT: the hypervisor cannot keep Linux out of its memory and refuses it
# with this line; the run then ends as a clean failure (the user asked for what cannot run).
NO_EPT_MODELS = {"core2_penryn_t9600", "bx_generic"}
NO_EPT_LINE = ("guest linux: cannot start Linux: refused: without EPT the hypervisor cannot keep a pass-through "
               "guest out of its memory")
NO_EPT_FINAL_LINE = "SWIFTVMX EXIT: failure"
TIME_LIMIT = 240  # seconds per run; Linux reaches /init in 15-30 s of Bochs bare (FACTS.md)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LOGS = os.path.join(ROOT, "build", "logs")
ISO = os.path.join("build", "swiftvmx-linux.iso")
BARE_ISO = os.path.join("build", "swiftvmx-linux-bare.iso")
# Each kind of run: (ISO, its files' RUN_NAME, the judge's mode).
# The poke runs (--pokes): each control, the stop line the hypervisor must print for it.
POKES = {
    "port92": "guest linux stopped: reset (system control port A, port 92H bit 0)",
    "cf9": "guest linux stopped: reset (reset control register, port CF9H bit 2)",
    "s3": "guest linux stopped: entered ACPI sleep type 1 (not S5), which the hypervisor does not survive",
    "qemu-exit": "guest linux stopped: wrote the hypervisor's exit port 0x00f4",
}

# With several processors (--cpus N): Linux gets a virtual CPU on each (NPROC: N), its APs
# started by its own INIT-SIPI-SIPI; every CPU leaves VMX at the end. On the models that cannot
# start a guest's AP (the reason in the line), Linux gets one and the MADT hides the others.
SINGLE_VCPU_MODELS = {"corei5_lynnfield_750": "no unrestricted guest (an application processor starts in real mode)"}


def smp_lines(model, cpus):
    """The hypervisor's lines (COM1, each somewhere) for Linux on `cpus` processors."""
    if model in SINGLE_VCPU_MODELS:
        return [f"guest linux: one virtual CPU (nr_cpus=1 added to its command line): {SINGLE_VCPU_MODELS[model]}",
                f"guest linux: ACPI: the MADT it reads lists {cpus} processors, {cpus - 1} of them hidden (a copy "
                "mapped over the original): the guest runs on 1 of them",
                f"processors: {cpus} of {cpus} CPUs were virtualised (in VMX root operation), and every one has left it"]
    return ([f"guest linux: {cpus} virtual CPUs, one per processor: {cpus - 1} application processors wait for SIPI"]
            + [f"cpu {i}: guest linux stopped: with the guest, which stopped on another of its virtual CPUs"
               for i in range(1, cpus)]
            + [f"processors: {cpus} of {cpus} CPUs were virtualised (in VMX root operation), and every one has "
               "left it"])

RUNS = {
    "default": (ISO, "linux-test", "default"),
    "cpus-2": (ISO, "linux-2cpus-test", "default"),
    "cpus-4": (ISO, "linux-4cpus-test", "default"),
    "bare": (BARE_ISO, "linux-bare-test", "bare"),
    "isolation": (os.path.join("build", "swiftvmx-linux-isolation.iso"), "linux-isolation-test", "isolation"),
    "isolation-relaxed": (os.path.join("build", "swiftvmx-linux-isolation-relaxed.iso"),
                          "linux-isolation-relaxed-test", "isolation"),
}
for _poke in POKES:
    RUNS["poke-" + _poke] = (os.path.join("build", f"swiftvmx-linux-poke-{_poke}.iso"), f"linux-poke-{_poke}-test", "poke")


def judge_poke(linux, hyper, status, poke):
    """A poke run: Linux said which control it uses and did not survive it; the hypervisor
    stopped it with the matching line and ended cleanly."""
    problems = []
    if status != 0:
        problems.append(f"tools/bochs-run status {status} (0: Bochs status 0 and {FINAL_LINE!r})")
    if f"POKE: {poke}" not in linux:
        problems.append(f"Linux (COM3): missing line 'POKE: {poke}'")
    if "POKE: survived" in linux:
        problems.append("Linux (COM3): the guest survived the poke")
    if not any(line.startswith(POKES[poke] + " (") for line in hyper):
        problems.append(f"hypervisor (COM1): missing line {POKES[poke]!r}")
    if "guest linux: interrupt sources masked (I/O APIC, local APIC, HPET, PICs)" not in hyper:
        problems.append("hypervisor (COM1): the interrupt sources were not masked")
    final = next((line for line in reversed(hyper) if line.strip()), "")
    if final != FINAL_LINE:
        problems.append(f"hypervisor (COM1): last line is {final!r}, expected {FINAL_LINE!r}")
    return problems


def lines_of(text):
    return [line.rstrip("\r\n \t") for line in text.replace("\r\n", "\n").split("\n")]


def in_order(lines, wanted, matches, what):
    """Problems for each line of `wanted` not found, in order, among `lines`."""
    problems, position = [], 0
    for want in wanted:
        found = next((i for i in range(position, len(lines)) if matches(lines[i], want)), None)
        if found is None:
            anywhere = any(matches(line, want) for line in lines)
            shown = want.pattern if hasattr(want, "pattern") else want
            problems.append(f"{what}: missing line {shown!r}" + (" (out of order)" if anywhere else ""))
        else:
            position = found + 1
    return problems, position


def line_is(line, want):
    """A whole line equal to a string, or matching a pattern entirely."""
    return bool(want.fullmatch(line)) if hasattr(want, "pattern") else line == want


def judge_isolation(linux, hyper, ranges, model):
    """Problems with an isolation run beyond those of every run with the hypervisor: Linux's
    markers, and the hypervisor's account of each attack, in order, with addresses in its
    reserved ranges."""
    problems, _ = in_order(linux, ISOLATION_LINUX_LINES, line_is, "Linux (COM3)")
    problems += [f"Linux (COM3): {line!r}: Linux survived the keyboard controller's reset"
                 for line in linux if line in ISOLATION_LINUX_FORBIDDEN]
    problems += [f"Linux (COM3): {line!r}: Linux itself refused /dev/mem (EPERM): the hypervisor was not tested"
                 for line in linux if DEVMEM_REFUSED.match(line)]
    position = ranges[-1][0] + 1 if ranges else 0
    for what, pattern in ISOLATION_COM1 + hello64_after_linux(model):
        found = next(((i, m) for i in range(position, len(hyper)) for m in [pattern.match(hyper[i])] if m), None)
        if found is None:
            anywhere = any(pattern.match(line) for line in hyper)
            shown = "" if what.startswith("hello64's line") else f": a line matching {pattern.pattern!r}"
            problems.append(f"hypervisor (COM1): missing {what}{shown}" + (" (out of order)" if anywhere else ""))
            continue
        position, match = found[0] + 1, found[1]
        if "address" in match.groupdict():
            address = int(match["address"], 16)
            if not any(start <= address <= end for _, start, end in ranges):
                problems.append(f"hypervisor (COM1): {what}: guest-physical {address:#x} lies outside the "
                                "hypervisor's reserved ranges: " + hyper[found[0]])
    return problems


def judge(com3, com1, status, bare=False, isolation=False, model=DEFAULT_MODELS[0], cpus=1):
    """Problems with a run (empty: it passed). `status` is tools/bochs-run's exit status (0:
    success, as it judges: Bochs status 0 and the final success line, or with --bare, Bochs's
    soft power off), None when the time limit was reached. `isolation`: an isolation run
    (judge_isolation) instead of the default markers and power-off."""
    problems = []
    linux, hyper = lines_of(com3), lines_of(com1)
    if model in NO_EPT_MODELS and not bare:
        if status != 1:
            problems.append(f"tools/bochs-run status {status} (1: a clean failure)")
        if NO_EPT_LINE not in hyper:
            problems.append(f"hypervisor (COM1): missing line {NO_EPT_LINE!r}")
        if any(line.strip() for line in linux):
            problems.append("Linux (COM3): Linux ran on a CPU without EPT")
        final = next((line for line in reversed(hyper) if line.strip()), "")
        if final != NO_EPT_FINAL_LINE:
            problems.append(f"hypervisor (COM1): last line is {final!r}, expected {NO_EPT_FINAL_LINE!r}")
        return problems
    if status is None:
        problems.append(f"no end within {TIME_LIMIT} s")
    elif status != 0:
        problems.append(f"tools/bochs-run status {status} (0: "
                        + ("soft power off" if bare else f"Bochs status 0 and {FINAL_LINE!r}") + ")")
    if not isolation:
        nproc = 1 if bare or model in SINGLE_VCPU_MODELS else cpus
        wanted = [f"NPROC: {nproc}" if line == "NPROC: 1" else line
                  for line in (BARE_LINUX_LINES if bare else LINUX_LINES)]
        found, _ = in_order(linux, wanted, line_is, "Linux (COM3)")
        problems += found
    if bare:
        return problems
    # Every range the hypervisor says it reserved must lie in a reserved range of Linux's E820
    # map (Linux merges it with adjacent reserved ranges of the firmware's).
    reserved = {(int(m[1], 16), int(m[2], 16)) for m in map(LINUX_E820.match, linux) if m}
    ranges = [(i, int(m[1], 16), int(m[2], 16)) for i, m in enumerate(map(HYPERVISOR_E820.match, hyper)) if m]
    if not ranges:
        problems.append("hypervisor (COM1): no line 'guest linux: E820 reserved [mem 0xSTART-0xEND] hypervisor'")
    for _, start, end in ranges:
        if not any(a <= start and end <= b for a, b in reserved):
            seen = ", ".join(f"[{a:#x}-{b:#x}]" for a, b in sorted(reserved)) or "none"
            problems.append(f"Linux (COM3): no 'BIOS-e820: [mem ...] reserved' line covers the hypervisor's "
                            f"[{start:#x}-{end:#x}]; Linux's reserved ranges: {seen}")
    if isolation:
        problems += judge_isolation(linux, hyper, ranges, model)
    else:
        after = ranges[0][0] + 1 if ranges else 0
        found, _ = in_order(hyper[after:], COM1_LINES, lambda l, w: l.startswith(w), "hypervisor (COM1)")
        problems += found
    final = next((line for line in reversed(hyper) if line.strip()), "")
    if final != FINAL_LINE:
        problems.append(f"hypervisor (COM1): last line is {final!r}, expected {FINAL_LINE!r}")
    return problems


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def boot(model, run, limit):
    """One Bochs run through tools/bochs-run (its files: build/logs/bochs-MODEL.NAME.*); `run`
    names one of RUNS."""
    iso, name, mode = RUNS[run]
    bare = mode == "bare"
    env = dict(os.environ, ISO=iso, RUN_NAME=name, MEGS="256", COM3="1")
    if bare:
        env.update(IGNORE_BAD_MSRS="1", EXPECT="poweroff")
    cpus = int(run[len("cpus-"):]) if run.startswith("cpus-") else 1
    if cpus > 1:
        env.update(CPU_COUNT=str(cpus))
    com1 = os.path.join(LOGS, f"bochs-{model}.{name}.log")
    com3 = os.path.join(LOGS, f"bochs-{model}.{name}.com3.log")
    start = time.monotonic()
    summary = ""
    try:
        done = subprocess.run(["tools/bochs-run", model, str(limit)], cwd=ROOT, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=limit + 30, start_new_session=True)
        status = done.returncode
        # bochs-run's verdict line (it also names a time limit it reached).
        summary = next((l for l in reversed(done.stdout.splitlines()) if l.startswith("bochs-run: model")), "")
        if "time limit" in summary:
            status = None
    except subprocess.TimeoutExpired:
        status = None
    seconds = time.monotonic() - start
    if mode == "poke":
        problems = judge_poke(lines_of(read(com3)), lines_of(read(com1)), status, run[len("poke-"):])
    else:
        problems = judge(read(com3), read(com1), status, bare, mode == "isolation", model, cpus)
    if cpus > 1 and model not in NO_EPT_MODELS:
        hyper = lines_of(read(com1))
        problems += [f"hypervisor (COM1): missing line {line!r}" for line in smp_lines(model, cpus)
                     if not any(h.startswith(line) for h in hyper)]
    label = "linux" if run == "default" else f"linux {run}"
    print(f"{'PASS' if not problems else 'FAIL'} {label} {model} "
          f"({seconds:.1f} s, status {status})" + "".join(f"\n    {p}" for p in problems)
          + (f"\n    {summary}\n    logs: {com3}, {com1}" if problems else ""), flush=True)
    return not problems


# MARK: Self-test: hand-made logs, each with the verdict it must get

GOOD_COM3 = """KASLR disabled: 'nokaslr' on cmdline.\r
[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009efff] usable\r
[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x0000000000ffffff] usable\r
[    0.000000] BIOS-e820: [mem 0x0000000001000000-0x0000000002ffffff] reserved\r
[    0.000000] BIOS-e820: [mem 0x0000000003000000-0x000000000ffeffff] usable\r
[   17.327995] Run /init as init process\r
INIT: start\r
MODE: default\r
HYPERVISOR-FLAG: yes\r
VMX-FLAG: no\r
NPROC: 1\r
INIT: poweroff\r
[   17.332460] reboot: Power down\r
"""
GOOD_COM1 = """VMX: VMXON succeeded: in VMX root operation
guest linux: E820 reserved [mem 0x1000000-0x2ffffff] hypervisor
guest linux: Linux boot protocol 2.15, kernel at 0x4000000
guest linux stopped: powered off (ACPI S5) (123456 VM exits)
VMX: VMXOFF succeeded, CR4.VMXE cleared
SWIFTVMX EXIT: success
"""
BARE_COM3 = GOOD_COM3.replace("HYPERVISOR-FLAG: yes", "HYPERVISOR-FLAG: no").replace("VMX-FLAG: no", "VMX-FLAG: yes")
# An isolation run as it should look: the hypervisor's arena at 0xe000000-0xfffffff (the top of
# 256 MiB less the firmware's ACPI data, merged in Linux's map with its own reserved range).
GOOD_ISOLATION_COM3 = """[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x000000000dffffff] usable\r
[    0.000000] BIOS-e820: [mem 0x000000000e000000-0x000000000fffffff] reserved\r
[   17.327995] Run /init as init process\r
INIT: start\r
MODE: isolation\r
TARGET: found\r
DEVMEM-READ: 0x00000000\r
DEVMEM-WRITE: done\r
DEVMEM-READ-2: 0x5EC0FFEE\r
VMXON: SIGILL\r
WRMSR-FEATURE-CONTROL: EIO\r
RDMSR-VMX-BASIC: EIO\r
RESET: keyboard controller\r
"""
GOOD_ISOLATION_COM1 = """VMX: VMXON succeeded: in VMX root operation
guest linux: E820 reserved [mem 0xe000000-0xfdfffff] hypervisor
guest linux: E820 reserved [mem 0xffe0000-0xffeffff] hypervisor
guest linux: Linux boot protocol 2.15, kernel at 0x4000000
guest linux: EPT violation at RIP 0xffffffff81a3c2f1: read of guest-physical 0xe000000 (linear 0x7f3c00000000, the translated address); page ---
guest linux: guest-physical 0xe000000 is the hypervisor's: mapped to a scratch page (reads zeros, writes discarded)
guest linux: EPT violation at RIP 0x4a2b10: write of guest-physical 0xe001000 (linear 0x7f3c00001000, the translated address); page ---
guest linux: guest-physical 0xe001000 is the hypervisor's: mapped to a scratch page (reads zeros, writes discarded)
guest linux: EPT violation at RIP 0x4a2b10: read of guest-physical 0xe002000 (linear 0x7f3c00002000, the translated address); page ---
guest linux: guest-physical 0xe002000 is the hypervisor's: mapped to a scratch page (reads zeros, writes discarded)
guest linux: 27 (VMXON) at RIP 0x401008: VMX is not available to guests: #UD injected
guest linux: WRMSR 0x0000003a (IA32_FEATURE_CONTROL) denied: #GP(0) injected
guest linux: RDMSR 0x00000480 (IA32_VMX_BASIC (VMX capability)) denied: #GP(0) injected
guest linux stopped: reset (keyboard controller reset pulse, port 64H) (4567890 VM exits)
hypervisor image: code and read-only data unchanged across guest linux (checksum 0x1b2c3d4e)
""" + "\n".join(line + ("0x201000 (host 0x123000) (VMX-preemption timer)" if line.endswith(", ") else "")
                for line in ex.guest_lines(DEFAULT_MODELS[0]) if line.startswith(("guest hello64", "[hello64"))) + """
VMX: VMXOFF succeeded, CR4.VMXE cleared
SWIFTVMX EXIT: success
"""


def self_test():
    cases = [
        ("a good run", GOOD_COM3, GOOD_COM1, 0, False, []),
        ("a good bare run", BARE_COM3, "", 0, True, []),
        ("the bare markers under the hypervisor", BARE_COM3, GOOD_COM1, 0, False,
         ["missing line 'HYPERVISOR-FLAG: yes'"]),
        ("the hypervisor's markers on a bare run", GOOD_COM3, "", 0, True, ["missing line 'HYPERVISOR-FLAG: no'"]),
        ("markers out of order", GOOD_COM3.replace("HYPERVISOR-FLAG: yes\r\nVMX-FLAG: no",
                                                   "VMX-FLAG: no\r\nHYPERVISOR-FLAG: yes"), GOOD_COM1, 0, False,
         ["(out of order)"]),
        ("a marker inside a longer line", GOOD_COM3.replace("NPROC: 1\r", "NPROC: 12\r"), GOOD_COM1, 0, False,
         ["missing line 'NPROC: 1'"]),
        ("the flags line printed raw", GOOD_COM3.replace("HYPERVISOR-FLAG: yes", "flags : fpu hypervisor"),
         GOOD_COM1, 0, False, ["missing line 'HYPERVISOR-FLAG: yes'"]),
        ("a different reserved range", GOOD_COM3,
         GOOD_COM1.replace("0x2ffffff]", "0x3ffffff]"), 0, False, ["covers the hypervisor's"]),
        ("the range reported usable", GOOD_COM3.replace("0x0000000002ffffff] reserved", "0x0000000002ffffff] usable"),
         GOOD_COM1, 0, False, ["covers the hypervisor's"]),
        ("no E820 line from the hypervisor", GOOD_COM3, GOOD_COM1.replace("guest linux: E820", "guest linux: e820"), 0, False,
         ["no line 'guest linux: E820 reserved"]),
        ("no stop line", GOOD_COM3, GOOD_COM1.replace("powered off (ACPI S5)", "triple fault"), 0, False,
         ["missing line 'guest linux stopped: powered off (ACPI S5)'"]),
        ("a failure at the end", GOOD_COM3, GOOD_COM1.replace("EXIT: success", "EXIT: failure"), 1, False,
         ["status 1", "last line is 'SWIFTVMX EXIT: failure'"]),
        ("the final line not last", GOOD_COM3, GOOD_COM1 + "[linux] late\n", 0, False, ["last line is"]),
        ("the time limit", GOOD_COM3.split("INIT: start")[0], "", None, False,
         ["no end within", "missing line 'HYPERVISOR-FLAG: yes'", "no line 'guest linux: E820"]),
        ("empty logs", "", "", 2, False, ["status 2", "missing line"]),
    ]
    cases = [(name, com3, com1, status, bare, False, wanted) for name, com3, com1, status, bare, wanted in cases]
    # The isolation test (--isolation).
    isolation = [
        ("a good isolation run", GOOD_ISOLATION_COM3, GOOD_ISOLATION_COM1, 0, []),
        ("the second read seeing zeros", GOOD_ISOLATION_COM3.replace("READ-2: 0x5EC0FFEE", "READ-2: 0x00000000"),
         GOOD_ISOLATION_COM1, 0, []),
        ("the second read seeing something else", GOOD_ISOLATION_COM3.replace("READ-2: 0x5EC0FFEE", "READ-2: 0x12345678"),
         GOOD_ISOLATION_COM1, 0, ["missing line 'DEVMEM-READ-2: 0x(00000000|5EC0FFEE)'"]),
        ("the hypervisor's memory read back", GOOD_ISOLATION_COM3.replace("DEVMEM-READ: 0x00000000", "DEVMEM-READ: 0x464C457F"),
         GOOD_ISOLATION_COM1, 0, ["missing line 'DEVMEM-READ: 0x00000000'"]),
        ("Linux refusing /dev/mem (EPERM)",
         GOOD_ISOLATION_COM3.replace("DEVMEM-READ: 0x00000000", "DEVMEM-READ: failed (mmap: Operation not permitted)"),
         GOOD_ISOLATION_COM1, 0, ["missing line 'DEVMEM-READ: 0x00000000'", "refused /dev/mem (EPERM)"]),
        ("no target", GOOD_ISOLATION_COM3.split("TARGET:")[0] + "TARGET: none\r\n" + GOOD_ISOLATION_COM3.split("DEVMEM-READ-2: 0x5EC0FFEE\r\n")[1],
         GOOD_ISOLATION_COM1, 0, ["missing line 'TARGET: found'"]),
        ("VMXON not faulting", GOOD_ISOLATION_COM3.replace("VMXON: SIGILL", "VMXON: status 0"), GOOD_ISOLATION_COM1, 0,
         ["missing line 'VMXON: SIGILL'"]),
        ("the MSR write allowed", GOOD_ISOLATION_COM3.replace("WRMSR-FEATURE-CONTROL: EIO", "WRMSR-FEATURE-CONTROL: ok"),
         GOOD_ISOLATION_COM1, 0, ["missing line 'WRMSR-FEATURE-CONTROL: EIO'"]),
        ("the guest surviving the reset", GOOD_ISOLATION_COM3 + "RESET: survived\r\nINIT: poweroff\r\n",
         GOOD_ISOLATION_COM1.replace("reset (keyboard controller reset pulse, port 64H)", "powered off (ACPI S5)"), 0,
         ["Linux survived the keyboard controller's reset", "missing Linux's stop at the reset"]),
        ("no read violation", GOOD_ISOLATION_COM3,
         "\n".join(l for l in GOOD_ISOLATION_COM1.split("\n") if ": read of guest-physical" not in l), 0,
         ["missing the /dev/mem read's EPT violation"]),
        ("no scratch page line", GOOD_ISOLATION_COM3,
         "\n".join(l for l in GOOD_ISOLATION_COM1.split("\n") if "scratch page" not in l), 0,
         ["missing the scratch page after the read"]),
        ("a violation outside the hypervisor's ranges", GOOD_ISOLATION_COM3,
         GOOD_ISOLATION_COM1.replace("read of guest-physical 0xe000000", "read of guest-physical 0xfe00000"), 0,
         ["the /dev/mem read's EPT violation: guest-physical 0xfe00000 lies outside"]),
        ("VMXON not reported", GOOD_ISOLATION_COM3, GOOD_ISOLATION_COM1.replace("#UD injected", "emulated"), 0,
         ["missing VMXON's #UD"]),
        ("the MSR denials out of order", GOOD_ISOLATION_COM3,
         GOOD_ISOLATION_COM1.replace("guest linux: WRMSR", "guest linux: XX").replace("guest linux: RDMSR", "guest linux: WRMSR")
         .replace("guest linux: XX", "guest linux: RDMSR"), 0, ["missing WRMSR 3AH's #GP"]),
        ("the image changed", GOOD_ISOLATION_COM3, GOOD_ISOLATION_COM1.replace("unchanged across", "CHANGED across"), 1,
         ["missing the image checksum"]),
        ("hello64 failing after Linux", GOOD_ISOLATION_COM3,
         GOOD_ISOLATION_COM1.replace("guest hello64 stopped: halted (HLT)", "guest hello64 stopped: triple fault"), 0,
         ["missing hello64's line 'guest hello64 stopped: halted (HLT)'"]),
        ("no hello64 after Linux", GOOD_ISOLATION_COM3,
         "\n".join(l for l in GOOD_ISOLATION_COM1.split("\n") if "hello64" not in l), 0, ["missing hello64"]),
        ("an isolation run's logs judged as a default run", GOOD_ISOLATION_COM3, GOOD_ISOLATION_COM1, 0,
         ["missing line 'HYPERVISOR-FLAG: yes'", "missing line 'guest linux stopped: powered off (ACPI S5)'"]),
        ("a default run's logs judged as an isolation run", GOOD_COM3, GOOD_COM1, 0,
         ["missing line 'MODE: isolation'", "missing the /dev/mem read's EPT violation"]),
    ]
    cases += [(name, com3, com1, status, False, not name.endswith("as a default run"), wanted)
              for name, com3, com1, status, wanted in isolation]
    failures = 0
    for name, com3, com1, status, bare, isolation, wanted in cases:
        problems = judge(com3, com1, status, bare, isolation)
        text = "\n".join(problems)
        ok = (not problems) if not wanted else all(w in text for w in wanted)
        failures += not ok
        print(f"{'ok ' if ok else 'BAD'} {name}: " + ("passes" if not problems else "; ".join(problems)))
    print(f"self-test: {len(cases) - failures} as expected, {failures} not")
    return failures == 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=TIME_LIMIT)
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--bare", action="store_true")
    kind.add_argument("--isolation", action="store_true")
    kind.add_argument("--pokes", action="store_true")
    parser.add_argument("--cpus", type=int, default=1, help="processors (Bochs cpu: count=N), 2 or 4")
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--runs", nargs="+", metavar="MODEL:RUN",
                        help=f"these runs instead (RUN: {', '.join(RUNS)}), started in the order given: "
                             "one pool for several kinds, the longest first")
    args = parser.parse_args()
    if args.self_test:
        return 0 if self_test() else 1
    runs = (["isolation", "isolation-relaxed"] if args.isolation else ["bare"] if args.bare
            else ["poke-" + poke for poke in POKES] if args.pokes else [f"cpus-{args.cpus}"] if args.cpus > 1
            else ["default"])
    jobs = [(model, run) for model in args.models for run in runs]
    if args.runs:
        jobs = [tuple(pair.split(":", 1)) for pair in args.runs]
        unknown = [pair for pair, job in zip(args.runs, jobs) if len(job) != 2 or job[1] not in RUNS]
        if unknown:
            print(f"unknown run {', '.join(unknown)}: MODEL:RUN with RUN one of {', '.join(RUNS)}")
            return 1
    missing = sorted({RUNS[run][0] for _, run in jobs if not os.path.exists(os.path.join(ROOT, RUNS[run][0]))})
    if missing:
        print(f"{', '.join(missing)} missing: make linux-iso, linux-isolation-iso, linux-poke-iso or "
              "run-linux-bare builds it")
        return 1
    os.makedirs(LOGS, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda job: boot(job[0], job[1], args.timeout), jobs))
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if results and passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
