// Which boot modules are a Linux kernel and its initrd (docs/LINUX.md, "Module lines"): a
// module with "HdrS" at 202H is a kernel (LinuxSetupHeader.isBzImage), and the module it
// names with initrd= is its data, not a guest. One kernel runs, after every other guest;
// a second one is refused with a line.
import VMX

struct LinuxModules {
    struct Kernel {
        var index: Int
        var options: LinuxModuleLine
        var initrd: Int?
    }
    var kernel: Kernel? = nil
    /// Indexes of every kernel and initrd module, which the sandbox does not run.
    var skipped: [Int] = []
    /// False when a module line was wrong or a second kernel was given.
    var healthy = true

    init<P: Host>(_ images: [GuestImage], cpu: P) {
        for (index, image) in images.enumerated()
        where !image.isBuiltIn && LinuxSetupHeader.isBzImage(imageAt: image.address, size: image.size, cpu: cpu) {
            skipped.append(index)
            let options: LinuxModuleLine
            do { options = try LinuxModuleLine(image.commandLine) } catch {
                var text = LogText()
                text.append(
                    "guest \(outside: GuestOptions.name(in: image.commandLine) ?? image.name): cannot start Linux: ")
                error.describe(into: &text)
                cpu.log(LogMessage(stringInterpolation: text))
                healthy = false
                continue
            }
            var initrd: Int? = nil
            if let wanted = options.initrdName {
                initrd = images.firstIndex {
                    !$0.isBuiltIn
                        && GuestOptions.name(in: $0.commandLine).map { $0.utf8.elementsEqual(wanted.utf8) } == true
                }
                if let initrd {
                    skipped.append(initrd)
                } else {
                    var text = LogText()
                    text.append("guest \(options.name): cannot start Linux: ")
                    LinuxLoadError.initrdNotFound(wanted).describe(into: &text)
                    cpu.log(LogMessage(stringInterpolation: text))
                    healthy = false
                    continue
                }
            }
            guard kernel == nil else {
                cpu.log(
                    "guest \(options.name): refused: a Linux kernel (\(kernel!.options.name)) already owns the machine")
                healthy = false
                continue
            }
            kernel = Kernel(index: index, options: options, initrd: initrd)
        }
    }

    func isLinuxOrInitrd(_ index: Int) -> Bool { skipped.contains(index) }
}
