# Unicorn 2.1.4 for the hosted build (docs/EMULATED-CPU.md): the emulated CPU executes guest
# instructions with it. tools/fetch-unicorn unpacks the PyPI wheel's headers and static library
# into build/unicorn; Package.swift's CUnicorn target includes and links them from there.
#
#   make unicorn          fetch and unpack the wheel (idempotent); `unit-test` depends on it

UNICORN_DIR := $(BUILD)/unicorn
UNICORN_LIB := $(UNICORN_DIR)/unicorn/lib/libunicorn.a

.PHONY: unicorn
unicorn: $(UNICORN_LIB)

$(UNICORN_LIB): tools/fetch-unicorn
	@tools/fetch-unicorn $(UNICORN_DIR)
	@touch $@
