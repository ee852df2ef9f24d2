# Differential fuzzing of VM entries (docs/SCENARIOS.md, "Fuzzing").
#
#   make fuzz-entry MODEL=NAME COUNT=N SEED=S   N generated scenario files for the model, run
#                         in Bochs (the kernel, bundles of FUZZ_BUNDLE files a boot,
#                         FUZZ_JOBS boots at a time) and on the emulated CPU; disagreements
#                         minimised and matched against the corpus's Bochs differences; prints
#                         `N agree, M disagree, K refused, E expected differences`; fails when M > 0.
#                         Results in build/fuzz-entry/MODEL-sSEED (results.tsv, coverage.txt,
#                         minimised/)
#   make fuzz-entry-test  a seeded batch of FUZZ_TEST_COUNT on each of FUZZ_TEST_MODELS, the models
#                         side by side (part of `make test`)

COUNT ?= 300
SEED ?= 1
FUZZ_BUNDLE ?= 1000
FUZZ_JOBS ?= 2
FUZZ_TEST_COUNT ?= 300
FUZZ_TEST_SEED ?= 15
FUZZ_TEST_MODELS ?= corei5_lynnfield_750 corei7_skylake_x

.PHONY: fuzz-entry fuzz-entry-test

fuzz-entry: deps $(KERNEL) vmx-entry-check
	tools/fuzz-entry --tool $(ENTRY_CHECK_TOOL) --model $(MODEL) --count $(COUNT) --seed $(SEED) \
		--bundle $(FUZZ_BUNDLE) --jobs $(FUZZ_JOBS) --coverage

# The models side by side (one Bochs each), each printing when it is done.
fuzz-entry-test: deps $(KERNEL) vmx-entry-check
	@mkdir -p $(BUILD)/fuzz-entry; for model in $(FUZZ_TEST_MODELS); do \
		( tools/fuzz-entry --tool $(ENTRY_CHECK_TOOL) --model $$model --count $(FUZZ_TEST_COUNT) \
			--seed $(FUZZ_TEST_SEED) --bundle $(FUZZ_BUNDLE) --jobs 1 >$(BUILD)/fuzz-entry/test-$$model.log 2>&1; \
		  echo $$? >$(BUILD)/fuzz-entry/test-$$model.status ) & \
	done; wait; status=0; for model in $(FUZZ_TEST_MODELS); do \
		cat $(BUILD)/fuzz-entry/test-$$model.log; \
		[ "$$(cat $(BUILD)/fuzz-entry/test-$$model.status)" = 0 ] || status=1; \
	done; exit $$status
