# Debugging the hypervisor itself (README, "Debugging"; docs/DEBUGGING.md).
#
#   make gdb              debug image in QEMU (KVM when tools/run would use it, else TCG),
#                         gdb stub on 127.0.0.1:$(GDB_PORT), gdb attached with
#                         tools/gdb/swiftvmx.gdb and stopped at kmain's first Swift line
#                         (`next`, `step`, `bt`; hbreak on Swift lines, `vmx-state`...)
#   make debug-bochs      the debug image in Bochs' internal debugger with the kernel's symbols,
#                         stopped at BOCHS_BREAK (default x86_vmxon, the VMXON wrapper; a
#                         symbol, FILE.swift:LINE or 0xADDRESS) on CPU model MODEL
#   make debug-kernel     build/debug/kernel.elf only; make debug-iso: build/debug/swiftvmx.iso
#   make debug-test       gdb in batch mode against QEMU, and Bochs' debugger from a command
#                         file, each checked line by line (tools/gdb-test, tools/bochs-debug-test)
#   make bochs-symbols    build/kernel.sym and build/debug/kernel.sym for Bochs' `ldsym`
#   make gdb-guest        the guest debugger (debug image only): the debug kernel with gdb=debug64
#                         in Bochs on MODEL, COM2 a socket on 127.0.0.1:$(GDB_GUEST_PORT) waiting
#                         for gdb build/guests/debug64.elf (docs/DEBUGGING.md)
#   make gdb-guest-test   the same with gdb in batch mode, on two models (tools/gdb-guest-test)
#
# The debug image is the same sources built by SwiftPM's debug configuration (-Onone, DWARF
# with full types, -DDEBUG) and nasm with DWARF line information. It is about three times the
# release image's size and exempt from the size target (docs/DEBUGGING.md gives the figures).
# Only it has the debug snapshot and the guest debugger (Sources/Kernel/Entry.swift, #if DEBUG).

DEBUG_DIR      := $(BUILD)/debug
DEBUG_SCRATCH  := .build-kernel-debug
DEBUG_LIB      := $(DEBUG_SCRATCH)/$(KERNEL_TRIPLE)/debug/libKernel.a
DEBUG_KERNEL   := $(DEBUG_DIR)/kernel.elf
DEBUG_ISO      := $(DEBUG_DIR)/swiftvmx.iso
DEBUG_SYMBOLS  := $(DEBUG_DIR)/kernel.sym
RELEASE_SYMBOLS := $(BUILD)/kernel.sym

# -gdwarf-types: full DWARF types (gdb cannot read the Swift AST that plain -g points LLDB at).
# -no-clang-module-breadcrumbs: no skeleton units pointing at the module cache's .pcm files,
# which gdb reports as missing DWO units. The ring-0 flags are the release build's.
DEBUG_SWIFT_FLAGS := \
	-Xswiftc -Onone -Xswiftc -gdwarf-types -Xswiftc -enforce-exclusivity=unchecked \
	-Xswiftc -Xfrontend -Xswiftc -no-clang-module-breadcrumbs \
	-Xswiftc -Xfrontend -Xswiftc -disable-stack-protector \
	-Xswiftc -Xfrontend -Xswiftc -function-sections \
	-Xcc -mno-red-zone -Xcc -fno-pic -Xcc -ffreestanding
DEBUG_SWIFT_BUILD := VMX_KERNEL=1 $(SWIFT) build --scratch-path $(DEBUG_SCRATCH) \
	--triple $(KERNEL_TRIPLE) --product Kernel -c debug $(DEBUG_SWIFT_FLAGS)
DEBUG_BOOT_OBJECTS := $(patsubst boot/%.asm,$(DEBUG_DIR)/boot/%.o,$(wildcard boot/*.asm))
OBJCOPY := $(SWIFT_BIN)/llvm-objcopy

GDB_PORT    ?= 1234
GDB_GUEST_PORT ?= 1235
BOCHS_BREAK ?= x86_vmxon

.PHONY: debug-kernel debug-iso gdb debug-bochs debug-test bochs-symbols gdb-guest gdb-guest-test

debug-kernel: $(DEBUG_KERNEL)
debug-iso: $(DEBUG_ISO)

$(DEBUG_DIR)/boot/%.o: boot/%.asm boot/long-mode.inc | deps
	@mkdir -p $(@D)
	$(NASM) -f elf64 -g -F dwarf -w+all -I boot/ -I $(BUILD)/guests/ -o $@ $<

# boot/guests.asm includes the test guests' flat binaries.
$(DEBUG_DIR)/boot/guests.o: $(GUEST_IMAGES)

$(DEBUG_LIB): $(SWIFT_SOURCES)
	$(DEBUG_SWIFT_BUILD)
	@touch $@

# Each object brings its own .debug_names index and lld concatenates them; gdb rejects the
# result ("length does not match") and builds its own index anyway, so the section goes.
# -Onone keeps String comparisons the release build optimizes away; they need the Unicode
# data tables of the Embedded stdlib (the debug image is exempt from the size target).
UNICODE_TABLES := $(SWIFT_BIN)/../lib/swift/embedded/$(KERNEL_TRIPLE)/libswiftUnicodeDataTables.a
$(DEBUG_KERNEL): $(DEBUG_BOOT_OBJECTS) $(DEBUG_LIB) linker/kernel.ld
	@mkdir -p $(@D)
	$(LLD) $(KERNEL_LINK_FLAGS) --defsym=boot_stack_size=0x10000 -o $@ $(DEBUG_BOOT_OBJECTS) $(DEBUG_LIB) \
		$(UNICODE_TABLES)
	$(OBJCOPY) --remove-section=.debug_names $@
	@tools/image-size $@ | sed 's/^kernel image/debug kernel image/'

# The ISO of `make run` (boot/grub.cfg and its user images) with the debug kernel.
$(DEBUG_ISO): $(DEBUG_KERNEL) boot/grub.cfg $(USER_IMAGES)
	$(call make-iso,$(DEBUG_DIR)/iso,boot/grub.cfg,$(USER_IMAGES))

# The debug kernel with `noguests` (boot/grub-noguests.cfg): the Bochs debugger test's ISO.
DEBUG_QUICK_ISO := $(DEBUG_DIR)/swiftvmx-noguests.iso
$(DEBUG_QUICK_ISO): $(DEBUG_KERNEL) boot/grub-noguests.cfg
	$(call make-iso,$(DEBUG_DIR)/iso-noguests,boot/grub-noguests.cfg,)

$(DEBUG_SYMBOLS): $(DEBUG_KERNEL) tools/bochs-symbols
	tools/bochs-symbols $< >$@
$(RELEASE_SYMBOLS): $(KERNEL) tools/bochs-symbols
	tools/bochs-symbols $< >$@
bochs-symbols: $(DEBUG_SYMBOLS) $(RELEASE_SYMBOLS)

gdb: deps $(DEBUG_KERNEL)
	tools/gdb-run --port $(GDB_PORT)

debug-bochs: deps $(DEBUG_ISO) $(DEBUG_SYMBOLS)
	tools/bochs-debug --break '$(BOCHS_BREAK)' $(MODEL)

debug-test: deps $(DEBUG_KERNEL) $(DEBUG_QUICK_ISO) $(DEBUG_SYMBOLS)
	tools/gdb-test
	tools/bochs-debug-test

# MARK: The guest debugger's test

GDB_GUEST := $(BUILD)/guests/debug64.elf
GDB_ISO   := $(DEBUG_DIR)/swiftvmx-gdb.iso

# An ELF64 user image with symbols, linked like guests/user/user64.asm.
$(GDB_GUEST): guests/user/debug64.asm guests/guest.inc | deps
	@mkdir -p $(@D)
	$(NASM) -f elf64 -w+all -I guests/ -o $(@:.elf=.o) $<
	$(LLD) -m elf_x86_64 $(USER_LINK_FLAGS) -o $@ $(@:.elf=.o)

# The debug kernel with the boot option gdb=debug64 and the guest as its module.
$(GDB_ISO): $(DEBUG_KERNEL) boot/grub-gdb.cfg $(GDB_GUEST)
	$(call make-iso,$(DEBUG_DIR)/iso-gdb,boot/grub-gdb.cfg,$(GDB_GUEST))

# Bochs waits for gdb; the session's time limit is an hour.
gdb-guest: deps $(GDB_ISO)
	@echo "gdb-guest: in another terminal: gdb $(GDB_GUEST) -ex 'set remotetimeout 120' -ex 'target remote 127.0.0.1:$(GDB_GUEST_PORT)'"
	ISO=$(GDB_ISO) COM2_PORT=$(GDB_GUEST_PORT) tools/bochs-run $(MODEL) 3600

# One model whose VMX offers the monitor trap flag, one whose does not (docs/DEBUGGING.md).
GDB_GUEST_MODELS ?= corei7_icelake_u corei7_skylake_x
gdb-guest-test: deps $(GDB_ISO)
	tools/gdb-guest-test $(GDB_GUEST_MODELS)
