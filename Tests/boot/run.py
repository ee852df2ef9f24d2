#!/usr/bin/env python3
"""Boot tests: boots the image on QEMU (TCG) and on Bochs CPU models, and judges each run by
its serial log (expected lines, in order, and the fixed final line) and its exit status.

Usage: Tests/boot/run.py [--qemu] [--bochs MODEL ...] [--all-bochs] [--smp] [--jobs N]
Prints one PASS/FAIL line per run and closes with 'N passed, M failed'.
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import expectations as ex  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "lib"))
from harness import final_line  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LOGS = os.path.join(ROOT, "build", "logs")
BOOT_TIME_LIMIT = 60  # seconds; a healthy Bochs boot takes a few
MODULES_THAT_FIT = 48  # multiboot1 modules the early heap holds, with room to spare (about 55)


def bochs_models():
    done = subprocess.run(["bochs", "--help", "cpu"], capture_output=True, text=True)
    out = done.stdout + done.stderr
    models, listing = [], False
    for line in out.splitlines():
        if line.startswith("Supported CPU models"):
            listing = True
        elif listing and line.strip() and not line.startswith("0"):
            models.append(line.strip())
        elif listing and line.startswith("0"):
            break
    return models


def run_with_limit(cmd, log_path, env=None):
    """Runs cmd (with `env` added to the environment); returns (status or None on timeout,
    serial log text, seconds)."""
    start = time.monotonic()
    try:
        status = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, timeout=BOOT_TIME_LIMIT,
                                start_new_session=True, env=dict(os.environ, **(env or {}))).returncode
    except subprocess.TimeoutExpired:
        status = None
    seconds = time.monotonic() - start
    try:
        with open(log_path, errors="replace") as f:
            log = f.read()
    except FileNotFoundError:
        log = ""
    return status, log, seconds


def missing_lines(lines, log, who=""):
    """The problems of `lines` not found in `log` in order."""
    problems, position = [], 0
    for line in lines:
        found = log.find(line, position)
        if found < 0:
            problems.append(f"{who}missing line {line!r}" + (" (or out of order)" if line in log else ""))
        else:
            position = found + len(line)
    return problems


def judge(name, status, log, seconds, lines, success, success_status, more=()):
    problems = list(more)
    if status is None:
        problems.append(f"no exit within {BOOT_TIME_LIMIT} s")
    problems += missing_lines(lines, log)
    final = final_line(log).strip()
    want_final = ex.FINAL_SUCCESS if success else ex.FINAL_FAILURE
    if final != want_final:
        problems.append(f"last line is {final!r}, expected {want_final!r}")
    if status is not None and status not in (0, 1):
        problems.append(f"run script status {status}: abnormal end (time limit, triple fault or no final line)")
    elif status is not None and (status == success_status) != success:
        problems.append(f"exit status {status} says {'success' if status == success_status else 'failure'}")
    verdict = "PASS" if not problems else "FAIL"
    print(f"{verdict} {name} ({seconds:.1f} s, status {status})" + "".join(f"\n    {p}" for p in problems),
          flush=True)
    return not problems


def boot_qemu(iso, modules=0):
    """TCG has no VMX: the kernel must say so and fail cleanly. tools/qemu-run exits 1 for a
    clean failure (QEMU status 3 with the final failure line), 0 for success, 2 otherwise.
    With `modules`, QEMU -kernel gets that many boot modules: the boot information's arrays live
    on the 8-KiB early heap until the page allocator exists (Sources/Kernel/Heap.swift), 48
    modules fit, and more than it holds end in one FATAL line naming the early heap, never in
    a fault."""
    name = "qemu-tcg grub-iso multiboot2" if iso else "qemu-tcg -kernel multiboot1"
    log = os.path.join(LOGS, "qemu-iso.log" if iso else "qemu.log")
    cmd = ["tools/qemu-run", "--timeout", str(BOOT_TIME_LIMIT)] + (["--iso"] if iso else [])
    lines = ["multiboot2" if iso else "multiboot1", ex.VMX_MISSING]
    if modules:
        name += f", {modules} modules"
        log = os.path.join(LOGS, f"qemu-{modules}-modules.log")
        cmd += ["--log", log, "--", "-initrd", ",".join(
            f"build/guests/hello64.bin guest name=module-{i:02} mode=long load=0x10000" for i in range(modules))]
        if modules <= MODULES_THAT_FIT:
            lines = ["multiboot1", f"module {modules - 1}: ", "page allocator: ", ex.VMX_MISSING]
        else:
            lines = ["multiboot1", ex.EARLY_HEAP_FULL, ex.EARLY_HEAP_FULL_END]
    status, text, seconds = run_with_limit(cmd, log)
    return judge(name, status, text, seconds, lines, False, success_status=0)


# Several processors (Bochs `cpu: count=N`, Sources/Kernel/Processors.swift), booted from
# build/swiftvmx-smp.iso (the kernel alone: the boot modules run on the first processor only,
# as in the one-processor runs): every VMX model with 2 (both run the built-in guests), one with
# 4; one model without long mode and one without VMX with 2 (each group fails on the same path,
# entry.asm's CPUID check or the VMX check after the processors' start); one with 4 and bad
# input for the start-up (boot/grub-smp-bad.cfg); and the guest that starts its application
# processors (boot/grub-smp-guest.cfg) with 2 and 4, and on the model without unrestricted
# guest. `--smp` runs them.
SMP_FOUR = "corei7_haswell_4770"
SMP_BAD_INPUT = "corei7_skylake_x"
SMP_FAILING = ["p4_willamette", "athlon64_clawhammer"]
SMP_GUEST_RUNS = [("corei7_skylake_x", 2), (SMP_FOUR, 4), ("corei5_lynnfield_750", 2)]


def smp_runs(models):
    return ([(m, 2) for m in models if m in ex.VMX or m in SMP_FAILING]
            + [(SMP_FOUR, 4), (SMP_BAD_INPUT, 4, "bad")] + [(m, n, "guest") for m, n in SMP_GUEST_RUNS])


def boot_bochs(model, cpus=1, variant=None):
    """tools/bochs-run exits 0 for success (Bochs status 0 and the final success line), 1 for a
    clean failure (status 1 and the final failure line), 2 for anything else. With one CPU
    boots the boot tests' ISO (build/swiftvmx-test.iso: the user images and the bad input as
    modules), with more build/swiftvmx-smp.iso, or with `variant` "bad" or "guest"
    build/swiftvmx-smp-VARIANT.iso; then the run's files are named MODEL.cpusN[-VARIANT]
    (tools/bochs-run RUN_NAME)."""
    iso = "swiftvmx-test.iso" if cpus == 1 else f"swiftvmx-smp-{variant}.iso" if variant else "swiftvmx-smp.iso"
    env = {"ISO": os.path.join("build", iso)}
    run = model
    if cpus > 1:
        name = f"cpus{cpus}" + (f"-{variant}" if variant else "")
        run = f"{model}.{name}"
        env.update(CPU_COUNT=str(cpus), RUN_NAME=name)
    log = os.path.join(LOGS, f"bochs-{run}.log")
    lines, success = (ex.bad_start_up_lines(cpus) if variant == "bad" else ex.smp_guest_lines(model, cpus)
                      if variant == "guest" else ex.expected_lines(model, cpus))
    status, text, seconds = run_with_limit(["tools/bochs-run", model, str(BOOT_TIME_LIMIT)], log, env=env)
    for name, cost in ex.hostile_costs(text):
        print(f"    {model}: {name} cost {cost} TSC cycles for a budget of {ex.HOSTILE_BUDGET} "
              f"({cost / ex.HOSTILE_BUDGET:.2f}x)", flush=True)
    # Each application processor's guest lines in order, apart from the others'.
    # (The bad-input run has no guests.)
    main, own = ex.split_by_processor(text.replace("\r", ""))
    more = ex.log_problems(model, text, modules=cpus == 1)
    per_processor = ({} if variant == "bad" else ex.smp_guest_processor_lines(model, cpus) if variant == "guest"
                     else ex.expected_processor_lines(model, cpus))
    for n, expected in per_processor.items():
        missing = missing_lines(expected, own.get(n, ""), f"cpu {n}: ")
        more += missing[:5] + ([f"cpu {n}: ... and {len(missing) - 5} more missing"] if len(missing) > 5 else [])
    what = {"bad": ", bad start-up input", "guest": f", guest {ex.SMP_GUEST}"}
    label = f" ({cpus} CPUs" + what.get(variant, "") + ")" if cpus > 1 else ""
    return judge(f"bochs {model}{label}", status, main, seconds, lines,
                 success, success_status=0, more=more)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qemu", action="store_true")
    parser.add_argument("--bochs", nargs="*", default=[])
    parser.add_argument("--all-bochs", action="store_true")
    parser.add_argument("--smp", action="store_true",
                        help="the several-processor runs (smp_runs): of every model with --all-bochs, else of --bochs's")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    os.makedirs(LOGS, exist_ok=True)
    jobs = []
    models = bochs_models() if args.all_bochs else args.bochs
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        if args.qemu:
            jobs += [pool.submit(boot_qemu, False), pool.submit(boot_qemu, True),
                     pool.submit(boot_qemu, False, MODULES_THAT_FIT), pool.submit(boot_qemu, False, 64)]
        jobs += [pool.submit(boot_bochs, m) for m in models]
        if args.smp:
            jobs += [pool.submit(boot_bochs, *run) for run in smp_runs(models)]
        results = [j.result() for j in jobs]
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) and results else 1


if __name__ == "__main__":
    sys.exit(main())
