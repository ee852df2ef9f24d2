#!/usr/bin/env python3
"""Linux boot test: boots build/swiftvmx-linux.iso (the hypervisor with Debian's Linux kernel as
a pass-through guest, boot/grub-linux.cfg) in Bochs on CPU models, and judges each run by two
serial logs: Linux's console (COM3, ttyS2) and the hypervisor's (COM1), and Bochs's status.

Usage: Tests/boot/linux.py [--jobs N] [--timeout S] [--bare] [--self-test] [MODEL ...]
  MODEL ...     Bochs CPU models (default: corei7_skylake_x corei5_lynnfield_750)
  --bare        boot build/swiftvmx-linux-bare.iso instead: the same Linux and initramfs without
                the hypervisor (boot/grub-linux-bare.cfg; ignore_bad_msrs=1), judged by
                BARE_LINUX_LINES and Bochs's soft power off: checks the initramfs and this script
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

DEFAULT_MODELS = ["corei7_skylake_x", "corei5_lynnfield_750"]
TIME_LIMIT = 240  # seconds per run; Linux reaches /init in 15-30 s of Bochs bare (FACTS.md)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LOGS = os.path.join(ROOT, "build", "logs")
ISO = os.path.join("build", "swiftvmx-linux.iso")
BARE_ISO = os.path.join("build", "swiftvmx-linux-bare.iso")


def lines_of(text):
    return [line.rstrip("\r\n \t") for line in text.replace("\r\n", "\n").split("\n")]


def in_order(lines, wanted, matches, what):
    """Problems for each line of `wanted` not found, in order, among `lines`."""
    problems, position = [], 0
    for want in wanted:
        found = next((i for i in range(position, len(lines)) if matches(lines[i], want)), None)
        if found is None:
            anywhere = any(matches(line, want) for line in lines)
            problems.append(f"{what}: missing line {want!r}" + (" (out of order)" if anywhere else ""))
        else:
            position = found + 1
    return problems, position


def judge(com3, com1, status, bare=False):
    """Problems with a run (empty: it passed). `status` is tools/bochs-run's exit status (0:
    success, as it judges: Bochs status 0 and the final success line, or with --bare, Bochs's
    soft power off), None when the time limit was reached."""
    problems = []
    linux, hyper = lines_of(com3), lines_of(com1)
    if status is None:
        problems.append(f"no end within {TIME_LIMIT} s")
    elif status != 0:
        problems.append(f"tools/bochs-run status {status} (0: "
                        + ("soft power off" if bare else f"Bochs status 0 and {FINAL_LINE!r}") + ")")
    found, _ = in_order(linux, BARE_LINUX_LINES if bare else LINUX_LINES, lambda l, w: l == w, "Linux (COM3)")
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


def boot(model, bare, limit):
    """One Bochs run through tools/bochs-run (its files: build/logs/bochs-MODEL.NAME.*)."""
    name = "linux-bare-test" if bare else "linux-test"
    env = dict(os.environ, ISO=BARE_ISO if bare else ISO, RUN_NAME=name, MEGS="256", COM3="1")
    if bare:
        env.update(IGNORE_BAD_MSRS="1", EXPECT="poweroff")
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
    problems = judge(read(com3), read(com1), status, bare)
    print(f"{'PASS' if not problems else 'FAIL'} {'bare ' if bare else ''}linux {model} "
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
    failures = 0
    for name, com3, com1, status, bare, wanted in cases:
        problems = judge(com3, com1, status, bare)
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
    parser.add_argument("--bare", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return 0 if self_test() else 1
    iso = BARE_ISO if args.bare else ISO
    if not os.path.exists(os.path.join(ROOT, iso)):
        print(f"{iso} missing: make {'run-linux-bare' if args.bare else 'linux-iso'} builds it")
        return 1
    os.makedirs(LOGS, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda m: boot(m, args.bare, args.timeout), args.models))
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if results and passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
