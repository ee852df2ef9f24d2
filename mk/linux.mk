# Debian's unmodified Linux kernel as a guest (guests/linux/, boot/grub-linux*.cfg).
#
#   make linux-fetch      the pinned Debian packages (guests/linux/packages) into build/linux:
#                         vmlinuz, msr.ko and a static busybox (tools/fetch-linux; network,
#                         idempotent)
#   make linux-initramfs  build/linux/initrd.gz from guests/linux/init and the isolation test's
#                         probes (guests/linux/probes/*.asm) (tools/make-initramfs)
#   make linux-iso        build/swiftvmx-linux.iso: the hypervisor with Linux as a guest
#                         (boot/grub-linux.cfg) and build/swiftvmx-linux-bare.iso: the same
#                         Linux booted by GRUB without the hypervisor (boot/grub-linux-bare.cfg)
#   make run-linux        the hypervisor with Linux on the best machine here (QEMU+KVM with
#                         nested VMX, else Bochs on MODEL), Linux's console (COM3, ttyS2) shown
#                         live with the prefix [linux:ttyS2], the hypervisor's COM1 as it comes
#   make run-linux-bare   Linux without the hypervisor, the same way
#   make linux-test       Tests/boot/linux.py: the hypervisor with Linux on LINUX_TEST_MODELS and on
#                         several processors (--cpus N), judged by both serial logs
#   make linux-all-test   linux-test, linux-isolation-test and two of linux-poke-test's four
#                         pokes (LINUX_TEST_POKES) in one pool of two Bochs (part of `make test`)
#   make linux-bare-test  the same script on the bare ISO (the initramfs's markers, power-off)
#                         and its self-test on hand-made logs (no Bochs)
#   make linux-isolation-iso   build/swiftvmx-linux-isolation.iso and -isolation-relaxed.iso:
#                         the hypervisor with Linux in swiftvmx.mode=isolation (root in the
#                         guest attacks the hypervisor), then hello64 (after-linux=hello64);
#                         the second with iomem=relaxed too (boot/grub-linux-isolation*.cfg)
#   make linux-isolation-test  Tests/boot/linux.py --isolation: both ISOs on
#                         LINUX_ISOLATION_MODEL in parallel
#   make run-linux-isolation  the first of them, shown live as make run-linux does
#   make run-linux-isolation-bare  the isolation mode on bare Linux in Bochs (no hypervisor,
#                         build/swiftvmx-linux-isolation-bare.iso): what the probes do there
#
# `make test` runs linux-all-test: fetching the pinned packages needs Debian's archive (apt-get
# download), which every machine of the project reaches.

LINUX_DIR     := $(BUILD)/linux
LINUX_KERNEL  := $(LINUX_DIR)/vmlinuz
LINUX_BUSYBOX := $(LINUX_DIR)/busybox
LINUX_MSR_KO  := $(LINUX_DIR)/msr.ko
LINUX_INITRD  := $(LINUX_DIR)/initrd.gz
# The isolation test's probes (guests/linux/probes/): static x86-64 Linux programs.
LINUX_PROBES  := $(patsubst guests/linux/probes/%.asm,$(LINUX_DIR)/probes/%,$(wildcard guests/linux/probes/*.asm))
LINUX_ISOLATION_ISO := $(BUILD)/swiftvmx-linux-isolation.iso
LINUX_ISOLATION_RELAXED_ISO := $(BUILD)/swiftvmx-linux-isolation-relaxed.iso
LINUX_ISOLATION_BARE_ISO := $(BUILD)/swiftvmx-linux-isolation-bare.iso
LINUX_ISOLATION_MODEL ?= corei7_skylake_x
LINUX_ISO     := $(BUILD)/swiftvmx-linux.iso
LINUX_BARE_ISO := $(BUILD)/swiftvmx-linux-bare.iso
LINUX_TIMEOUT ?= 300
LINUX_TEST_MODELS ?= corei7_skylake_x corei5_lynnfield_750 core2_penryn_t9600

# The poke test: each of these ends Linux through a control the hypervisor traps, one boot each.
LINUX_POKES := port92 cf9 s3 qemu-exit
# make test boots two of them (each a 40-s Linux boot): the sleep state, which only Linux's own
# suspend path reaches, and one reset control; every control's trap is tested hosted
# (PassThroughTests), and make linux-poke-test boots all four.
LINUX_TEST_POKES := s3 cf9
LINUX_POKE_ISOS := $(patsubst %,$(BUILD)/swiftvmx-linux-poke-%.iso,$(LINUX_POKES))

.PHONY: linux-poke-iso linux-poke-test
linux-poke-iso: $(LINUX_POKE_ISOS)

$(BUILD)/swiftvmx-linux-poke-%.iso: $(KERNEL) boot/grub-linux-poke.cfg.in $(LINUX_KERNEL) $(LINUX_INITRD)
	@mkdir -p $(BUILD)/poke-cfg
	sed 's/@POKE@/$*/g' boot/grub-linux-poke.cfg.in >$(BUILD)/poke-cfg/grub-$*.cfg
	$(call make-iso,$(BUILD)/iso-linux-poke-$*,$(BUILD)/poke-cfg/grub-$*.cfg,,$(LINUX_KERNEL) $(LINUX_INITRD))

linux-poke-test: deps $(LINUX_POKE_ISOS)
	python3 Tests/boot/linux.py --pokes --jobs 2 corei7_skylake_x

.PHONY: linux-fetch linux-initramfs linux-iso run-linux run-linux-bare linux-test linux-all-test linux-bare-test \
	linux-isolation-iso linux-isolation-test run-linux-isolation run-linux-isolation-bare

linux-fetch: $(LINUX_KERNEL) $(LINUX_BUSYBOX) $(LINUX_MSR_KO)
linux-initramfs: $(LINUX_INITRD)
linux-iso: $(LINUX_ISO) $(LINUX_BARE_ISO)

# tools/fetch-linux leaves files it need not replace alone; the touch tells make they are current.
$(LINUX_KERNEL) $(LINUX_BUSYBOX) $(LINUX_MSR_KO) &: guests/linux/packages tools/fetch-linux
	tools/fetch-linux guests/linux/packages
	@touch $(LINUX_KERNEL) $(LINUX_BUSYBOX) $(LINUX_MSR_KO)

$(LINUX_DIR)/probes/%: guests/linux/probes/%.asm guests/linux/probes/probe.inc guests/linux/probes/parse.inc | deps
	@mkdir -p $(@D)
	$(NASM) -f elf64 -w+all -I guests/linux/probes/ -o $@.o $<
	$(LLD) -static -nostdlib -e _start -z noexecstack -o $@ $@.o

$(LINUX_INITRD): guests/linux/init tools/make-initramfs $(LINUX_BUSYBOX) $(LINUX_MSR_KO) $(LINUX_PROBES)
	tools/make-initramfs $@

$(LINUX_ISO): $(KERNEL) boot/grub-linux.cfg $(LINUX_KERNEL) $(LINUX_INITRD)
	$(call make-iso,$(BUILD)/iso-linux,boot/grub-linux.cfg,,$(LINUX_KERNEL) $(LINUX_INITRD))

# No hypervisor on this one, and GRUB's `linux` command (its initrd command reads the gzipped
# archive as it is: no gzio).
$(LINUX_BARE_ISO): ISO_WITHOUT_KERNEL := 1
$(LINUX_BARE_ISO): GRUB_MODULES += linux
$(LINUX_BARE_ISO): boot/grub-linux-bare.cfg $(LINUX_KERNEL) $(LINUX_INITRD)
	$(call make-iso,$(BUILD)/iso-linux-bare,boot/grub-linux-bare.cfg,,$(LINUX_KERNEL) $(LINUX_INITRD))

# The isolation test: the same kernel, initramfs and hypervisor; GRUB configurations differ.
linux-isolation-iso: $(LINUX_ISOLATION_ISO) $(LINUX_ISOLATION_RELAXED_ISO)

$(LINUX_ISOLATION_ISO): $(KERNEL) boot/grub-linux-isolation.cfg $(LINUX_KERNEL) $(LINUX_INITRD)
	$(call make-iso,$(BUILD)/iso-linux-isolation,boot/grub-linux-isolation.cfg,,$(LINUX_KERNEL) $(LINUX_INITRD))

$(LINUX_ISOLATION_RELAXED_ISO): $(KERNEL) boot/grub-linux-isolation-relaxed.cfg $(LINUX_KERNEL) $(LINUX_INITRD)
	$(call make-iso,$(BUILD)/iso-linux-isolation-relaxed,boot/grub-linux-isolation-relaxed.cfg,,$(LINUX_KERNEL) $(LINUX_INITRD))

$(LINUX_ISOLATION_BARE_ISO): ISO_WITHOUT_KERNEL := 1
$(LINUX_ISOLATION_BARE_ISO): GRUB_MODULES += linux
$(LINUX_ISOLATION_BARE_ISO): boot/grub-linux-isolation-bare.cfg $(LINUX_KERNEL) $(LINUX_INITRD)
	$(call make-iso,$(BUILD)/iso-linux-isolation-bare,boot/grub-linux-isolation-bare.cfg,,$(LINUX_KERNEL) $(LINUX_INITRD))

run-linux: deps $(LINUX_ISO)
	tools/linux-run --model $(MODEL) --timeout $(LINUX_TIMEOUT)

run-linux-isolation: deps $(LINUX_ISOLATION_ISO)
	tools/linux-run --isolation --model $(MODEL) --timeout $(LINUX_TIMEOUT)

run-linux-bare: deps $(LINUX_BARE_ISO)
	tools/linux-run --bare --model $(MODEL) --timeout $(LINUX_TIMEOUT)

# One processor on LINUX_TEST_MODELS less corei7_skylake_x (which the isolation and poke tests
# boot with one), then the processors: 4 on corei7_skylake_x, 2 on it and on
# corei5_lynnfield_750 (one virtual CPU there). LINUX_SMP_RUNS, longest first.
LINUX_SMP_RUNS := corei7_skylake_x:cpus-4 corei7_skylake_x:cpus-2 corei5_lynnfield_750:cpus-2
linux-test: deps $(LINUX_ISO)
	python3 Tests/boot/linux.py --jobs 2 --runs $(LINUX_SMP_RUNS) \
		$(patsubst %,%:default,$(filter-out corei7_skylake_x,$(LINUX_TEST_MODELS)))

# What `make test` runs of Linux: linux-test, linux-isolation-test and LINUX_TEST_POKES as one
# pool of two Bochs, the longest runs first, so that the 4-processor boot overlaps the others.
linux-all-test: deps $(LINUX_ISO) $(LINUX_ISOLATION_ISO) $(LINUX_ISOLATION_RELAXED_ISO) \
		$(patsubst %,$(BUILD)/swiftvmx-linux-poke-%.iso,$(LINUX_TEST_POKES))
	python3 Tests/boot/linux.py --self-test
	python3 Tests/boot/linux.py --jobs 2 --runs $(LINUX_SMP_RUNS) \
		$(LINUX_ISOLATION_MODEL):isolation $(LINUX_ISOLATION_MODEL):isolation-relaxed \
		$(patsubst %,corei7_skylake_x:poke-%,$(LINUX_TEST_POKES)) \
		$(patsubst %,%:default,$(filter-out corei7_skylake_x,$(LINUX_TEST_MODELS)))

linux-isolation-test: deps $(LINUX_ISOLATION_ISO) $(LINUX_ISOLATION_RELAXED_ISO)
	python3 Tests/boot/linux.py --self-test
	python3 Tests/boot/linux.py --isolation --jobs 2 $(LINUX_ISOLATION_MODEL)

run-linux-isolation-bare: deps $(LINUX_ISOLATION_BARE_ISO)
	tools/linux-run --isolation --bare --model $(MODEL) --timeout $(LINUX_TIMEOUT)

linux-bare-test: deps $(LINUX_BARE_ISO)
	python3 Tests/boot/linux.py --self-test
	python3 Tests/boot/linux.py --bare --jobs 2 $(LINUX_TEST_MODELS)

# MARK: Debugging Linux (docs/LINUX.md "Debugging Linux")
#
#   make linux-symbols    build/linux/vmlinux.elf: the kernel with its own kallsyms symbols
#                         (tools/linux-symbols; the package's System.map is a stub)
#   make gdb-linux        the debug kernel with gdb=linux and Linux (boot/grub-linux-gdb.cfg) in
#                         Bochs on MODEL, 256 MiB, COM3 shown live, COM2 a socket on
#                         127.0.0.1:$(GDB_LINUX_PORT) waiting for gdb build/linux/vmlinux.elf
#   make gdb-linux-test   the same with gdb in batch mode (tools/gdb-linux-test): a breakpoint at
#                         kernel_power_off, registers, memory, steps, continue to power-off
#
# The debug kernel's path is spelled out: mk/debug.mk (DEBUG_KERNEL) may be read after this file.

LINUX_SYMBOLS   := $(LINUX_DIR)/vmlinux.elf
LINUX_GDB_ISO   := $(BUILD)/debug/swiftvmx-linux-gdb.iso
GDB_LINUX_PORT  ?= 1236
GDB_LINUX_MODEL ?= corei7_skylake_x

.PHONY: linux-symbols gdb-linux gdb-linux-test

linux-symbols: $(LINUX_SYMBOLS)

$(LINUX_SYMBOLS): $(LINUX_KERNEL) tools/linux-symbols | deps
	tools/linux-symbols $< $@

$(LINUX_GDB_ISO): $(BUILD)/debug/kernel.elf boot/grub-linux-gdb.cfg $(LINUX_KERNEL) $(LINUX_INITRD)
	$(call make-iso,$(BUILD)/debug/iso-linux-gdb,boot/grub-linux-gdb.cfg,,$(LINUX_KERNEL) $(LINUX_INITRD))

# Bochs waits for gdb; the session's time limit is an hour.
gdb-linux: deps $(LINUX_GDB_ISO) $(LINUX_SYMBOLS)
	@echo "gdb-linux: in another terminal: gdb $(LINUX_SYMBOLS) -ex 'set remotetimeout 120' -ex 'target remote 127.0.0.1:$(GDB_LINUX_PORT)' -ex 'hbreak kernel_power_off' -ex continue"
	ISO=$(LINUX_GDB_ISO) RUN_NAME=linux-gdb MEGS=256 COM3=1 COM3_PREFIX='[linux:ttyS2] ' \
		COM2_PORT=$(GDB_LINUX_PORT) tools/bochs-run $(MODEL) 3600

gdb-linux-test: deps $(LINUX_GDB_ISO) $(LINUX_SYMBOLS)
	tools/gdb-linux-test $(GDB_LINUX_MODEL)
