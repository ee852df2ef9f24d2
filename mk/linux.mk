# Debian's unmodified Linux kernel as a guest (guests/linux/, boot/grub-linux*.cfg).
#
#   make linux-fetch      the pinned Debian packages (guests/linux/packages) into build/linux:
#                         vmlinuz and a static busybox (tools/fetch-linux; network, idempotent)
#   make linux-initramfs  build/linux/initrd.gz from guests/linux/init (tools/make-initramfs)
#   make linux-iso        build/swiftvmx-linux.iso: the hypervisor with Linux as a guest
#                         (boot/grub-linux.cfg) and build/swiftvmx-linux-bare.iso: the same
#                         Linux booted by GRUB without the hypervisor (boot/grub-linux-bare.cfg)
#   make run-linux        the hypervisor with Linux on the best machine here (QEMU+KVM with
#                         nested VMX, else Bochs on MODEL), Linux's console (COM3, ttyS2) shown
#                         live with the prefix [linux:ttyS2], the hypervisor's COM1 as it comes
#   make run-linux-bare   Linux without the hypervisor, the same way
#   make linux-test       Tests/boot/linux.py: the hypervisor with Linux on LINUX_TEST_MODELS,
#                         judged by both serial logs (part of `make test`)
#   make linux-bare-test  the same script on the bare ISO (the initramfs's markers, power-off)
#                         and its self-test on hand-made logs (no Bochs)
#
# `make test` runs linux-test: fetching the pinned packages needs Debian's archive (apt-get
# download), which every machine of the project reaches.

LINUX_DIR     := $(BUILD)/linux
LINUX_KERNEL  := $(LINUX_DIR)/vmlinuz
LINUX_BUSYBOX := $(LINUX_DIR)/busybox
LINUX_INITRD  := $(LINUX_DIR)/initrd.gz
LINUX_ISO     := $(BUILD)/swiftvmx-linux.iso
LINUX_BARE_ISO := $(BUILD)/swiftvmx-linux-bare.iso
LINUX_TIMEOUT ?= 300
LINUX_TEST_MODELS ?= corei7_skylake_x corei5_lynnfield_750

.PHONY: linux-fetch linux-initramfs linux-iso run-linux run-linux-bare linux-test linux-bare-test

linux-fetch: $(LINUX_KERNEL) $(LINUX_BUSYBOX)
linux-initramfs: $(LINUX_INITRD)
linux-iso: $(LINUX_ISO) $(LINUX_BARE_ISO)

# tools/fetch-linux leaves files it need not replace alone; the touch tells make they are current.
$(LINUX_KERNEL) $(LINUX_BUSYBOX) &: guests/linux/packages tools/fetch-linux
	tools/fetch-linux guests/linux/packages
	@touch $(LINUX_KERNEL) $(LINUX_BUSYBOX)

$(LINUX_INITRD): guests/linux/init tools/make-initramfs $(LINUX_BUSYBOX)
	tools/make-initramfs $@

$(LINUX_ISO): $(KERNEL) boot/grub-linux.cfg $(LINUX_KERNEL) $(LINUX_INITRD)
	$(call make-iso,$(BUILD)/iso-linux,boot/grub-linux.cfg,,$(LINUX_KERNEL) $(LINUX_INITRD))

# No hypervisor on this one, and GRUB's `linux` command (its initrd command reads the gzipped
# archive as it is: no gzio).
$(LINUX_BARE_ISO): ISO_WITHOUT_KERNEL := 1
$(LINUX_BARE_ISO): GRUB_MODULES += linux
$(LINUX_BARE_ISO): boot/grub-linux-bare.cfg $(LINUX_KERNEL) $(LINUX_INITRD)
	$(call make-iso,$(BUILD)/iso-linux-bare,boot/grub-linux-bare.cfg,,$(LINUX_KERNEL) $(LINUX_INITRD))

run-linux: deps $(LINUX_ISO)
	tools/linux-run --model $(MODEL) --timeout $(LINUX_TIMEOUT)

run-linux-bare: deps $(LINUX_BARE_ISO)
	tools/linux-run --bare --model $(MODEL) --timeout $(LINUX_TIMEOUT)

linux-test: deps $(LINUX_ISO)
	python3 Tests/boot/linux.py --jobs 2 $(LINUX_TEST_MODELS)

linux-bare-test: deps $(LINUX_BARE_ISO)
	python3 Tests/boot/linux.py --self-test
	python3 Tests/boot/linux.py --bare --jobs 2 $(LINUX_TEST_MODELS)
