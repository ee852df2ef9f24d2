// Fixed-argument wrappers of Unicorn's variadic functions (include/CUnicorn.h).
#include "CUnicorn.h"

uc_err swiftvmx_uc_hook_add(uc_engine *uc, uc_hook *hook, int type, void *callback, void *user_data) {
    // begin > end: the hook covers every address.
    return uc_hook_add(uc, hook, type, callback, user_data, 1, 0);
}

uc_err swiftvmx_uc_hook_add_instruction(uc_engine *uc, uc_hook *hook, void *callback, void *user_data,
                                        int instruction) {
    return uc_hook_add(uc, hook, UC_HOOK_INSN, callback, user_data, 1, 0, instruction);
}

uc_err swiftvmx_uc_set_tlb_type(uc_engine *uc, int type) {
    return uc_ctl(uc, UC_CTL_WRITE(UC_CTL_TLB_TYPE, 1), type);
}

uc_err swiftvmx_uc_flush_tlb(uc_engine *uc) {
    return uc_ctl(uc, UC_CTL_WRITE(UC_CTL_TLB_FLUSH, 1));
}

uc_err swiftvmx_uc_flush_translations(uc_engine *uc) {
    return uc_ctl(uc, UC_CTL_WRITE(UC_CTL_TB_FLUSH, 1));
}

uc_err swiftvmx_uc_set_cpu_model(uc_engine *uc, int model) {
    return uc_ctl(uc, UC_CTL_WRITE(UC_CTL_CPU_MODEL, 1), model);
}
