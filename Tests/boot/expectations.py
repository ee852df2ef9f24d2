"""What each machine must print, from the measured facts (docs/BOCHS.md): the boot-test oracle.

Every run must end with the fixed final line; the exit status alone can be faked (a guest's
`xchg bx, bx` ends a Bochs run with status 0), so both are checked.
"""

FINAL_SUCCESS = "SWIFTVMX EXIT: success"
FINAL_FAILURE = "SWIFTVMX EXIT: failure"

# Bochs 2.7 CPU models, by what they offer (`bochs --help cpu`; probed, see docs/BOCHS.md).
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

LONG_MODE_MISSING = "FATAL: long mode not supported"
VMX_MISSING = "FATAL: VMX not supported: CPUID.1:ECX.VMX[bit 5] = 0"
VMX_ENTERED = "VMX: VMXON succeeded: in VMX root operation"
VMX_LEFT = "VMX: VMXOFF succeeded, CR4.VMXE cleared"
REPORT_HEADER = "IA32_VMX_BASIC"


def expected_lines(model):
    """(lines that must appear in order, success expected) for a Bochs model."""
    if model in NO_LONG_MODE:
        return [LONG_MODE_MISSING, FINAL_FAILURE], False
    if model in NO_VMX:
        return [VMX_MISSING, FINAL_FAILURE], False
    if model in VMX:
        return [VMX_ENTERED, REPORT_HEADER, VMX_LEFT, FINAL_SUCCESS], True
    raise KeyError(f"unknown Bochs CPU model {model}: add it to Tests/boot/expectations.py")
