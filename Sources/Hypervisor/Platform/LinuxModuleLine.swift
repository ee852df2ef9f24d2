// The module line of a Linux kernel (docs/LINUX.md, "Module lines"):
//
//   module2 /boot/linux/vmlinuz guest name=linux initrd=initrd budget=N -- console=ttyS2 ...
//   module2 /boot/linux/initrd.gz initrd name=initrd
//
// Before ` -- `: the hypervisor's options, `key=value` words (other words are ignored, like
// the leading "guest"): name= (how the log calls it, default "linux"), initrd= (the name= of
// the module that holds the initial RAM disk), budget= (TSC cycles; needs the VMX-preemption
// timer). After ` -- `: the kernel's own command line, passed on unchanged.
import VMX

public struct LinuxModuleLine: Sendable {
    public var name = OutsideText("linux")
    public var initrdName: String? = nil
    public var budget: UInt64? = nil
    public var kernelCommandLine = ""

    public init(_ line: String) throws(GuestImageError) {
        var options = line
        if let separator = Self.separatorRange(in: line) {
            options = String(decoding: Array(line.utf8)[..<separator.lowerBound], as: UTF8.self)
            kernelCommandLine = String(decoding: Array(line.utf8)[separator.upperBound...], as: UTF8.self)
        }
        for word in ByteText(utf8: options).words() {
            guard let equals = word.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let key = word[..<equals], value = word[(equals + 1)...]
            if key.equals("name") {
                name = OutsideText(value.text)
            } else if key.equals("initrd") {
                initrdName = value.text
            } else if key.equals("budget") {
                guard let cycles = parseNumber(value), cycles > 0 else {
                    throw .badValue(option: "budget", value: value.text)
                }
                budget = cycles
            } else {
                throw .unknownOption(word.text)
            }
        }
    }

    /// The word `--` (with the spaces around it, or at the end of the line).
    static func separatorRange(in line: String) -> Range<Int>? {
        let bytes = Array(line.utf8)
        var index = 0
        while index + 1 < bytes.count {
            let startsWord = index == 0 || bytes[index - 1] == UInt8(ascii: " ")
            let dashes = bytes[index] == UInt8(ascii: "-") && bytes[index + 1] == UInt8(ascii: "-")
            let endsWord = index + 2 == bytes.count || bytes[index + 2] == UInt8(ascii: " ")
            if startsWord && dashes && endsWord {
                return index..<min(index + 3, bytes.count)
            }
            index += 1
        }
        return nil
    }
}
