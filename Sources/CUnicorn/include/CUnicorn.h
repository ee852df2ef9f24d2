// Unicorn 2.1.4 for the emulated CPU (hosted only; docs/EMULATED-CPU.md).
//
// The headers come from the PyPI wheel that tools/fetch-unicorn unpacks into build/unicorn
// (`make unicorn`, a prerequisite of `make unit-test`). They are included by a path relative to
// this file, so no include flag is needed; Package.swift links build/unicorn's libunicorn.a.
//
// Unicorn's uc_hook_add and uc_ctl are variadic, which Swift cannot call: the functions below
// are fixed-argument wrappers.
#ifndef SWIFTVMX_CUNICORN_H
#define SWIFTVMX_CUNICORN_H

#if __has_include("../../../build/unicorn/unicorn/include/unicorn/unicorn.h")
#include "../../../build/unicorn/unicorn/include/unicorn/unicorn.h"
#else
#error "Unicorn 2.1.4 is missing: run `make unicorn` (tools/fetch-unicorn) before `swift build` or `swift test`"
#endif

#include <stdbool.h>
#include <stdint.h>

/// uc_hook_add for hooks without extra arguments, over all addresses.
uc_err swiftvmx_uc_hook_add(uc_engine *uc, uc_hook *hook, int type, void *callback, void *user_data);

/// uc_hook_add for UC_HOOK_INSN with the instruction (UC_X86_INS_*) as its extra argument.
uc_err swiftvmx_uc_hook_add_instruction(uc_engine *uc, uc_hook *hook, void *callback, void *user_data,
                                        int instruction);

/// uc_ctl(UC_CTL_TLB_TYPE): UC_TLB_CPU or UC_TLB_VIRTUAL.
uc_err swiftvmx_uc_set_tlb_type(uc_engine *uc, int type);

/// uc_ctl(UC_CTL_TLB_FLUSH).
uc_err swiftvmx_uc_flush_tlb(uc_engine *uc);

/// uc_ctl(UC_CTL_TB_FLUSH): drops every translated block.
uc_err swiftvmx_uc_flush_translations(uc_engine *uc);

/// uc_ctl(UC_CTL_CPU_MODEL).
uc_err swiftvmx_uc_set_cpu_model(uc_engine *uc, int model);

#endif
