# Differential fuzzing of VM exits (docs/SCENARIOS.md, "Fuzzing VM exits").
#
#   make fuzz-exit MODEL=NAME COUNT=N SEED=S   N generated exit programs (guest code from a
#                         grammar of exit-causing instructions, under execution controls the
#                         model allows), run in Bochs (the fuzz image's kernel, one bundle module a
#                         boot) and on the emulated CPU (vmx-entry-check --exits); each VM exit's
#                         trace compared field by field where SDM 28.2 defines the field;
#                         disagreements minimised; prints `N programs: A agree, M disagree, E
#                         expected differences, H agree only run hosted alone` and the
#                         throughput; fails when M > 0. FOCUS=NAME (tools/fuzz-exit --focus):
#                         NAME's items and the controls that make them exit in every program.
#                         Results in build/fuzz-exit/MODEL-sSEED[-FOCUS] (results.tsv, minimised/)
#   make fuzz-exit-test   a seeded batch of FUZZ_EXIT_TEST_COUNT on each of FUZZ_TEST_MODELS, the
#                         models side by side
#   make fuzz-kernel      build/fuzz/kernel.elf only
#
# The fuzz image is the release build with -DEXIT_FUZZ, in its own scratch directory: only it
# has the boot word `exit-programs` and calls the exit recorder (Sources/Hypervisor/Scenarios/
# ExitProgramRunner.swift), so the release image does not grow.

FUZZ_DIR       := $(BUILD)/fuzz
FUZZ_SCRATCH   := .build-kernel-fuzz
FUZZ_LIB       := $(FUZZ_SCRATCH)/$(KERNEL_TRIPLE)/release/libKernel.a
FUZZ_KERNEL    := $(FUZZ_DIR)/kernel.elf
FUZZ_EXIT_BUNDLE ?= 500
FUZZ_EXIT_TEST_COUNT ?= 100
FUZZ_EXIT_TEST_SEED ?= 4

.PHONY: fuzz-kernel fuzz-exit fuzz-exit-test

fuzz-kernel: $(FUZZ_KERNEL)

$(FUZZ_LIB): $(SWIFT_SOURCES)
	VMX_KERNEL=1 $(SWIFT) build --scratch-path $(FUZZ_SCRATCH) --triple $(KERNEL_TRIPLE) --product Kernel \
		-c release $(KERNEL_SWIFT_FLAGS) -Xswiftc -DEXIT_FUZZ
	@touch $@

$(FUZZ_KERNEL): $(BOOT_OBJECTS) $(FUZZ_LIB) linker/kernel.ld
	@mkdir -p $(@D)
	$(LLD) $(KERNEL_LINK_FLAGS) $(RELEASE_LINK_FLAGS) -o $@ $(BOOT_OBJECTS) $(FUZZ_LIB)
	@tools/image-size $@ | sed 's/^kernel image/fuzz kernel image/'

fuzz-exit: deps $(FUZZ_KERNEL) vmx-entry-check
	tools/fuzz-exit --tool $(ENTRY_CHECK_TOOL) --kernel $(FUZZ_KERNEL) --model $(MODEL) --count $(COUNT) \
		--seed $(SEED) --bundle $(FUZZ_EXIT_BUNDLE) $(if $(FOCUS),--focus $(FOCUS))

# The models side by side (one Bochs each), each printing when it is done.
fuzz-exit-test: deps $(FUZZ_KERNEL) vmx-entry-check
	@mkdir -p $(BUILD)/fuzz-exit; for model in $(FUZZ_TEST_MODELS); do \
		( tools/fuzz-exit --tool $(ENTRY_CHECK_TOOL) --kernel $(FUZZ_KERNEL) --model $$model \
			--count $(FUZZ_EXIT_TEST_COUNT) --seed $(FUZZ_EXIT_TEST_SEED) --bundle $(FUZZ_EXIT_BUNDLE) \
			>$(BUILD)/fuzz-exit/test-$$model.log 2>&1; \
		  echo $$? >$(BUILD)/fuzz-exit/test-$$model.status ) & \
	done; wait; status=0; for model in $(FUZZ_TEST_MODELS); do \
		cat $(BUILD)/fuzz-exit/test-$$model.log; \
		[ "$$(cat $(BUILD)/fuzz-exit/test-$$model.status)" = 0 ] || status=1; \
	done; exit $$status
