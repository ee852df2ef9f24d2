# VM-entry scenarios through both worlds (docs/SCENARIOS.md, docs/DIAGNOSTICS.md).
#
#   make entry-check SCENARIOS=DIR MODEL=NAME   every file of DIR in Bochs (the kernel, real VMX
#                         as Bochs emulates it, one boot with the files as modules) and on the
#                         emulated CPU with the profile NAME (vmx-entry-check); prints both
#                         outcomes side by side and `N agree, M disagree, K refused, E expected
#                         differences`; fails when M > 0
#   make entry-check-test the corpus Tests/scenarios on ENTRY_CHECK_MODELS (part of `make test`)
#   make vmx-entry-check  the hosted tool only

SCENARIOS ?= Tests/scenarios
# One model without unrestricted guest (EPT and VPID only), one with it and more.
ENTRY_CHECK_MODELS ?= corei5_lynnfield_750 corei7_skylake_x
# The hosted tool is built in the unit tests' scratch path, so `make test` builds it once.
ENTRY_CHECK_SCRATCH ?= $(HOSTED_SCRATCH)
ENTRY_CHECK_TOOL := $(ENTRY_CHECK_SCRATCH)/debug/vmx-entry-check

.PHONY: entry-check entry-check-test vmx-entry-check

vmx-entry-check: unicorn
	swift build --scratch-path $(ENTRY_CHECK_SCRATCH) --product vmx-entry-check

entry-check: deps $(KERNEL) vmx-entry-check
	tools/entry-check --tool $(ENTRY_CHECK_TOOL) --model $(MODEL) $(SCENARIOS)

# The models side by side (one Bochs each), each printed when it is done.
entry-check-test: deps $(KERNEL) vmx-entry-check
	@mkdir -p $(BUILD)/entry-check; for model in $(ENTRY_CHECK_MODELS); do \
		( tools/entry-check --tool $(ENTRY_CHECK_TOOL) --model $$model $(SCENARIOS) \
			>$(BUILD)/entry-check/test-$$model.log 2>&1; echo $$? >$(BUILD)/entry-check/test-$$model.status ) & \
	done; wait; status=0; for model in $(ENTRY_CHECK_MODELS); do \
		cat $(BUILD)/entry-check/test-$$model.log; \
		[ "$$(cat $(BUILD)/entry-check/test-$$model.status)" = 0 ] || status=1; \
	done; exit $$status
