# SwiftVMX: build the bare-metal kernel and its GRUB ISO, run them, test them.
#
#   make run              boot on the best machine here (QEMU+KVM with nested VMX, else Bochs)
#   make test             hosted unit tests, boot tests on QEMU and every Bochs CPU model, the
#                         entry-check corpus, a seeded fuzz-entry batch (mk/fuzz-entry.mk), the
#                         debugger tests (debug image: mk/debug.mk)
#   make                  build/kernel.elf and build/swiftvmx.iso
#   make unit-test        hosted unit tests only (swift test)
#   make boot-test        boot tests only
#   make fixtures         capture Tests/fixtures/MODEL.fixture from every Bochs VMX model
#   make bench            figures: image size, boot wall time
#   make run-qemu         QEMU TCG (no VMX), multiboot1 through -kernel
#   make run-qemu-iso     QEMU TCG from the ISO (GRUB, multiboot2)
#   make run-bochs MODEL=corei7_skylake_x    Bochs on one CPU model, from the ISO
#   make size             the loaded image size (file-backed segments + .bss)
#
# The kernel's Swift code (modules VMX, Hypervisor, Kernel and the C module Intrinsics) is
# built by SwiftPM as Embedded Swift for x86_64-unknown-none-elf (VMX_KERNEL=1 selects the
# bare-metal half of Package.swift) into one static library, which ld.lld links with the nasm
# objects from boot/ using linker/kernel.ld. docs/KERNEL.md explains the flags.

SHELL := /bin/bash
.DEFAULT_GOAL := all

SWIFT_BIN ?= /opt/swift/usr/bin
SWIFT     := $(SWIFT_BIN)/swift
LLD       := $(SWIFT_BIN)/ld.lld
NASM      ?= nasm
GRUB_MKRESCUE ?= grub-mkrescue

BUILD := build

# MARK: Kernel

KERNEL_TRIPLE  := x86_64-unknown-none-elf
KERNEL_SCRATCH := .build-kernel
KERNEL_LIB     := $(KERNEL_SCRATCH)/$(KERNEL_TRIPLE)/release/libKernel.a
KERNEL         := $(BUILD)/kernel.elf
ISO            := $(BUILD)/swiftvmx.iso

# Ring-0 code: no red zone (exceptions push onto the interrupted stack), no PIC, no stack
# protector runtime, each function in its own section so the linker drops unused ones. No
# dynamic exclusivity checks: they put swift_beginAccess/swift_endAccess calls around every
# class property access (a VM exit's path had a dozen); the static checks still apply.
KERNEL_SWIFT_FLAGS := \
	-Xswiftc -Osize \
	-Xswiftc -enforce-exclusivity=unchecked \
	-Xswiftc -Xfrontend -Xswiftc -disable-stack-protector \
	-Xswiftc -Xfrontend -Xswiftc -function-sections \
	-Xcc -mno-red-zone -Xcc -fno-pic -Xcc -ffreestanding
KERNEL_SWIFT_BUILD := VMX_KERNEL=1 $(SWIFT) build --scratch-path $(KERNEL_SCRATCH) \
	--triple $(KERNEL_TRIPLE) --product Kernel -c release $(KERNEL_SWIFT_FLAGS)
# The release image also folds identical functions (generic specializations that compiled to
# the same code); the debug image keeps them apart so that each has its own breakpoints.
RELEASE_LINK_FLAGS := --icf=all
KERNEL_LINK_FLAGS := -T linker/kernel.ld -nostdlib -static --gc-sections -z max-page-size=4096 \
	-z noexecstack --no-undefined

BOOT_OBJECTS  := $(patsubst boot/%.asm,$(BUILD)/boot/%.o,$(wildcard boot/*.asm))
# Test guests (guests/, docs/GUESTS.md): flat binaries that boot/guests.asm links into the image,
# and user images (guests/user/) that the ISOs carry as boot modules.
GUEST_IMAGES  := $(patsubst guests/%.asm,$(BUILD)/guests/%.bin,$(wildcard guests/*.asm))
USER_IMAGES   := $(BUILD)/guests/user64.elf $(BUILD)/guests/user32.elf
# Images the bad-input boot test hands over as modules (boot/grub-test.cfg).
BAD_IMAGES    := $(BUILD)/guests/bad-class.elf
TEST_ISO      := $(BUILD)/swiftvmx-test.iso
BENCH_ISO     := $(BUILD)/swiftvmx-bench.iso
CAPTURE_ISO   := $(BUILD)/swiftvmx-capture.iso
SMP_ISO       := $(BUILD)/swiftvmx-smp.iso
SMP_BAD_ISO   := $(BUILD)/swiftvmx-smp-bad.iso
SMP_GUEST_ISO := $(BUILD)/swiftvmx-smp-guest.iso
USER_LINK_FLAGS := -static -nostdlib -e start --image-base=0x100000 -Ttext=0x101000 \
	-z max-page-size=4096 -z noexecstack
SWIFT_SOURCES := Package.swift $(shell find Sources/VMX Sources/Hypervisor Sources/Kernel \
	Sources/Intrinsics -type f 2>/dev/null)

.PHONY: all kernel iso size clean run run-qemu run-qemu-iso run-bochs deps test unit-test \
	boot-test deps-test fixtures bench format format-lint

all: deps $(KERNEL) $(ISO) $(TEST_ISO)

# Installs missing Debian packages when run as root, else prints the command (tools/ensure-deps).
deps:
	@tools/ensure-deps
kernel: $(KERNEL)
iso: $(ISO)

$(BUILD)/boot/%.o: boot/%.asm boot/long-mode.inc | deps
	@mkdir -p $(@D)
	$(NASM) -f elf64 -w+all -I boot/ -I $(BUILD)/guests/ -o $@ $<

$(BUILD)/boot/guests.o: $(GUEST_IMAGES)

$(BUILD)/guests/%.bin: guests/%.asm $(wildcard guests/*.inc) | deps
	@mkdir -p $(@D)
	$(NASM) -f bin -w+all -I guests/ -o $@ $<

# User images: ELF executables linked at 1 MiB (ELF64: long mode, ELF32: protected mode).
$(BUILD)/guests/user64.elf: guests/user/user64.asm guests/guest.inc | deps
	@mkdir -p $(@D)
	$(NASM) -f elf64 -w+all -I guests/ -o $(@:.elf=.o) $<
	$(LLD) -m elf_x86_64 $(USER_LINK_FLAGS) -o $@ $(@:.elf=.o)
$(BUILD)/guests/user32.elf: guests/user/user32.asm guests/guest.inc | deps
	@mkdir -p $(@D)
	$(NASM) -f elf32 -w+all -I guests/ -o $(@:.elf=.o) $<
	$(LLD) -m elf_i386 $(USER_LINK_FLAGS) -o $@ $(@:.elf=.o)

# An ELF header with EI_CLASS = 3, which is neither 32- nor 64-bit.
$(BUILD)/guests/bad-class.elf:
	@mkdir -p $(@D)
	printf '\177ELF\003\001\001\000' >$@ && head -c 56 /dev/zero >>$@

# SwiftPM decides what to recompile; the touch gives make a fresh timestamp either way.
$(KERNEL_LIB): $(SWIFT_SOURCES)
	$(KERNEL_SWIFT_BUILD)
	@touch $@

$(KERNEL): $(BOOT_OBJECTS) $(KERNEL_LIB) linker/kernel.ld
	@mkdir -p $(@D)
	$(LLD) $(KERNEL_LINK_FLAGS) $(RELEASE_LINK_FLAGS) -o $@ $(BOOT_OBJECTS) $(KERNEL_LIB)
	@tools/kernel-text-check $@
	@tools/image-size $@

# Only the GRUB modules the BIOS CD boot and boot/grub.cfg use (and their dependencies): a
# 1.5 MB ISO instead of 10 MB, and a faster Bochs boot.
GRUB_MODULES := biosdisk iso9660 normal serial terminal multiboot2

# make-iso DIRECTORY, GRUB CONFIGURATION, MODULES[, LINUX FILES]: the rule's first prerequisite
# (a kernel; none when the target sets ISO_WITHOUT_KERNEL), the modules under boot/guests/ and
# the Linux guest's files under boot/linux/ (mk/linux.mk); grub-mkrescue's output goes to
# DIRECTORY.log.
define make-iso
	@rm -rf $(1) && mkdir -p $(1)/boot/grub $(1)/boot/guests
	$(if $(ISO_WITHOUT_KERNEL),,cp $< $(1)/boot/kernel.elf)
	cp $(2) $(1)/boot/grub/grub.cfg
	$(if $(3),cp $(3) $(1)/boot/guests/)
	$(if $(4),mkdir -p $(1)/boot/linux && cp $(4) $(1)/boot/linux/)
	$(GRUB_MKRESCUE) --install-modules="$(GRUB_MODULES)" --locales= --fonts= --themes= \
		-o $@ $(1) >$(1).log 2>&1 || { cat $(1).log; exit 1; }
endef

# The ISO of `make run`: the kernel and the sample user images.
$(ISO): $(KERNEL) boot/grub.cfg $(USER_IMAGES)
	$(call make-iso,$(BUILD)/iso,boot/grub.cfg,$(USER_IMAGES))

# The ISO of `make bench`: the kernel command line `bench` (boot/grub-bench.cfg).
$(BENCH_ISO): $(KERNEL) boot/grub-bench.cfg
	$(call make-iso,$(BUILD)/iso-bench,boot/grub-bench.cfg,)

# The ISO of `make fixtures`: the kernel command line `capture` (boot/grub-capture.cfg).
$(CAPTURE_ISO): $(KERNEL) boot/grub-capture.cfg
	$(call make-iso,$(BUILD)/iso-capture,boot/grub-capture.cfg,)

# The ISOs of the several-processor boot tests: the kernel alone (boot/grub-smp.cfg), with
# bad input for the processors' start-up (boot/grub-smp-bad.cfg), and the test guest that
# starts its application processors (boot/grub-smp-guest.cfg).
$(SMP_ISO): $(KERNEL) boot/grub-smp.cfg
	$(call make-iso,$(BUILD)/iso-smp,boot/grub-smp.cfg,)

$(SMP_BAD_ISO): $(KERNEL) boot/grub-smp-bad.cfg
	$(call make-iso,$(BUILD)/iso-smp-bad,boot/grub-smp-bad.cfg,)

$(SMP_GUEST_ISO): $(KERNEL) boot/grub-smp-guest.cfg $(BUILD)/guests/smp-start.bin
	$(call make-iso,$(BUILD)/iso-smp-guest,boot/grub-smp-guest.cfg,$(BUILD)/guests/smp-start.bin)

# Kernels that speak Linux's boot protocol (guests/linux/): boot modules, not built in.
$(BUILD)/guests/smp-start.bin: guests/linux/smp-start.asm guests/linux/boot-protocol.inc guests/guest.inc | deps
	@mkdir -p $(@D)
	$(NASM) -f bin -w+all -I guests/ -I guests/linux/ -o $@ $<

# The ISO of the boot tests: also images that must be refused (boot/grub-test.cfg).
$(TEST_ISO): $(KERNEL) boot/grub-test.cfg $(USER_IMAGES) $(BAD_IMAGES) $(GUEST_IMAGES)
	$(call make-iso,$(BUILD)/iso-test,boot/grub-test.cfg,$(USER_IMAGES) $(BAD_IMAGES) $(BUILD)/guests/hello64.bin $(BUILD)/guests/realmode.bin $(BUILD)/guests/spin.bin $(BUILD)/guests/flood.bin $(BUILD)/guests/tsc.bin $(BUILD)/guests/printflood.bin $(BUILD)/guests/bpflood.bin $(BUILD)/guests/msrsweep.bin $(BUILD)/guests/portsweep.bin)

# The loaded image: every PT_LOAD segment's memory size (file-backed bytes plus .bss), then
# where the bytes go by module and by area, and the largest symbols.
size: $(KERNEL)
	@tools/image-size $(KERNEL)
	@SWIFT_BIN=$(SWIFT_BIN) tools/size-report $(KERNEL)

# MARK: Run

run: all
	tools/run

run-qemu: deps $(KERNEL)
	@echo "run-qemu: QEMU with TCG, which has no VMX: the kernel must say so and fail"
	tools/qemu-run

run-qemu-iso: deps $(ISO)
	tools/qemu-run --iso

MODEL ?= corei7_skylake_x
run-bochs: deps $(ISO)
	tools/bochs-run $(MODEL)

# MARK: Test

HOSTED_SCRATCH := .build

test: deps-test format-lint unit-test boot-test linux-all-test entry-check-test fuzz-entry-test fuzz-exit-test debug-test gdb-guest-test gdb-linux-test

# tools/ensure-deps in a fresh clone on a simulated machine without the packages; the kernel
# text check on an image with and without the standard library's String formatting.
deps-test:
	Tests/tools/ensure-deps-test
	Tests/tools/kernel-text-check-test

unit-test: deps unicorn
	swift test --scratch-path $(HOSTED_SCRATCH)

# The Swift sources' layout (.swift-format: 120 columns, 4-space indentation): `make format`
# rewrites them, `make format-lint` fails on any finding of `swift format lint --strict` and on
# a line over 120 columns (string literals, which the formatter does not break, included).
FORMAT_PATHS := Package.swift Sources Tests
format:
	$(SWIFT) format format --in-place --recursive $(FORMAT_PATHS)
format-lint:
	$(SWIFT) format lint --strict --recursive $(FORMAT_PATHS)
	@awk 'length > 120 { print FILENAME ":" FNR ": " length " columns, at most 120"; bad = 1 } END { exit bad }' \
		$$(find $(FORMAT_PATHS) -name '*.swift')

# Every Bochs model that `bochs --help cpu` lists, two at a time, each with a time limit.
boot-test: all $(SMP_ISO) $(SMP_BAD_ISO) $(SMP_GUEST_ISO)
	python3 Tests/boot/run.py --qemu --all-bochs --smp --jobs 2

VMX_MODELS := $(shell python3 -c 'import sys; sys.path.insert(0, "Tests/boot"); \
	import expectations as e; print(" ".join(sorted(e.VMX)))' 2>/dev/null)
fixtures: all $(CAPTURE_ISO)
	tools/capture-fixtures $(VMX_MODELS)

# MARK: Bench

bench: all $(BENCH_ISO)
	@tools/bench

clean:
	rm -rf $(BUILD) $(KERNEL_SCRATCH)

# Further targets live in mk/*.mk, one file per area (e.g. mk/debug.mk for gdb and Bochs' debugger).
-include $(wildcard mk/*.mk)
