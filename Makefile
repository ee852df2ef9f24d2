# SwiftVMX: build the bare-metal kernel and its GRUB ISO, run them, test them.
#
#   make run              boot on the best machine here (QEMU+KVM with nested VMX, else Bochs)
#   make test             hosted unit tests, then boot tests on QEMU and every Bochs CPU model
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
LOGS  := $(BUILD)/logs

# MARK: Kernel

KERNEL_TRIPLE  := x86_64-unknown-none-elf
KERNEL_SCRATCH := .build-kernel
KERNEL_LIB     := $(KERNEL_SCRATCH)/$(KERNEL_TRIPLE)/release/libKernel.a
KERNEL         := $(BUILD)/kernel.elf
ISO            := $(BUILD)/swiftvmx.iso

# Ring-0 code: no red zone (exceptions push onto the interrupted stack), no PIC, no stack
# protector runtime, each function in its own section so the linker drops unused ones.
KERNEL_SWIFT_FLAGS := \
	-Xswiftc -Osize \
	-Xswiftc -Xfrontend -Xswiftc -disable-stack-protector \
	-Xswiftc -Xfrontend -Xswiftc -function-sections \
	-Xcc -mno-red-zone -Xcc -fno-pic -Xcc -ffreestanding
KERNEL_SWIFT_BUILD := VMX_KERNEL=1 $(SWIFT) build --scratch-path $(KERNEL_SCRATCH) \
	--triple $(KERNEL_TRIPLE) --product Kernel -c release $(KERNEL_SWIFT_FLAGS)
KERNEL_LINK_FLAGS := -T linker/kernel.ld -nostdlib -static --gc-sections -z max-page-size=4096 \
	-z noexecstack --no-undefined

BOOT_OBJECTS  := $(patsubst boot/%.asm,$(BUILD)/boot/%.o,$(wildcard boot/*.asm))
SWIFT_SOURCES := Package.swift $(shell find Sources/VMX Sources/Hypervisor Sources/Kernel \
	Sources/Intrinsics -type f 2>/dev/null)

.PHONY: all kernel iso size clean run run-qemu run-qemu-iso run-bochs deps test unit-test \
	boot-test fixtures bench

all: deps $(KERNEL) $(ISO)

# Installs missing Debian packages when run as root, else prints the command (tools/ensure-deps).
deps:
	@tools/ensure-deps
kernel: $(KERNEL)
iso: $(ISO)

$(BUILD)/boot/%.o: boot/%.asm | deps
	@mkdir -p $(@D)
	$(NASM) -f elf64 -w+all -o $@ $<

# SwiftPM decides what to recompile; the touch gives make a fresh timestamp either way.
$(KERNEL_LIB): $(SWIFT_SOURCES)
	$(KERNEL_SWIFT_BUILD)
	@touch $@

$(KERNEL): $(BOOT_OBJECTS) $(KERNEL_LIB) linker/kernel.ld
	@mkdir -p $(@D)
	$(LLD) $(KERNEL_LINK_FLAGS) -o $@ $(BOOT_OBJECTS) $(KERNEL_LIB)
	@tools/image-size $@

# Only the GRUB modules the BIOS CD boot and boot/grub.cfg use (and their dependencies): a
# 1.5 MB ISO instead of 10 MB, and a faster Bochs boot.
GRUB_MODULES := biosdisk iso9660 normal serial terminal multiboot2

$(ISO): $(KERNEL) boot/grub.cfg
	@rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub
	cp $(KERNEL) $(BUILD)/iso/boot/kernel.elf
	cp boot/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	$(GRUB_MKRESCUE) --install-modules="$(GRUB_MODULES)" --locales= --fonts= --themes= \
		-o $@ $(BUILD)/iso >$(BUILD)/grub-mkrescue.log 2>&1 \
		|| { cat $(BUILD)/grub-mkrescue.log; exit 1; }

# The loaded image: every PT_LOAD segment's memory size (file-backed bytes plus .bss).
size: $(KERNEL)
	@tools/image-size $(KERNEL)

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

test: unit-test boot-test

unit-test: deps
	swift test --scratch-path $(HOSTED_SCRATCH)

# Every Bochs model that `bochs --help cpu` lists, two at a time, each with a time limit.
boot-test: all
	python3 Tests/boot/run.py --qemu --all-bochs --jobs 2

VMX_MODELS := $(shell python3 -c 'import sys; sys.path.insert(0, "Tests/boot"); \
	import expectations as e; print(" ".join(sorted(e.VMX)))' 2>/dev/null)
fixtures: all
	tools/capture-fixtures $(VMX_MODELS)

# MARK: Bench

bench: all
	@tools/bench

clean:
	rm -rf $(BUILD) $(KERNEL_SCRATCH)

# Further targets live in mk/*.mk, one file per area (e.g. mk/debug.mk for gdb and Bochs' debugger).
-include $(wildcard mk/*.mk)
