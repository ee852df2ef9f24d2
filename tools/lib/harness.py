"""Pieces the debugger tests share (tools/gdb-test, tools/gdb-guest-test, tools/bochs-debug-test)."""
import socket
import subprocess


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def elf_symbols(path):
    """Every symbol of the ELF file at `path` with its address, by name (nm)."""
    out = subprocess.run(["nm", path], capture_output=True, text=True, check=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (line.split() for line in out.splitlines()) if len(parts) == 3}


def final_line(log):
    """The last non-blank line of a serial log: the kernel's final line (SWIFTVMX EXIT: ...)."""
    lines = [line for line in log.splitlines() if line.strip()]
    return lines[-1] if lines else ""
