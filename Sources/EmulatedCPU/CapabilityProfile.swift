// A capability profile: the raw data captured from one VMX-capable CPU (docs/FIXTURES.md),
// which configures the emulated CPU: CPUID leaves, IA32_FEATURE_CONTROL and the VMX capability
// MSRs, and the VMCS field encodings VMREAD accepted.
//
// The fixture format, one record a line:
//   # free text comment
//   model NAME
//   cpuid LEAF SUBLEAF EAX EBX ECX EDX        8 hexadecimal digits each
//   msr ADDRESS VALUE                          8 and 16 hexadecimal digits
//   vmcs-fields ENC ENC ...                    4 hexadecimal digits each
//   end
// Malformed input fails with one line naming the file, the line number and the problem.
import VMX

public struct CapabilityProfile: Sendable {
    /// One captured CPUID leaf.
    public struct CPUIDLeaf: Equatable, Sendable {
        public var leaf: UInt32
        public var subleaf: UInt32
        public var result: CPUIDResult
        public init(leaf: UInt32, subleaf: UInt32, result: CPUIDResult) {
            self.leaf = leaf
            self.subleaf = subleaf
            self.result = result
        }
    }

    /// The fixture's name (its file name without ".fixture").
    public var name: String
    /// The `model` record: the CPU model the data comes from.
    public var model: String
    /// The comment lines, without "# ".
    public var comments: [String]
    public var cpuidLeaves: [CPUIDLeaf]
    /// IA32_FEATURE_CONTROL and the VMX capability MSRs that exist on the CPU, by address.
    public var msrs: [UInt32: UInt64]
    /// The encodings VMREAD accepted, in the order captured: well formed, usually ones the SDM
    /// defines (and high halves of 64-bit fields), possibly undocumented ones the CPU accepts.
    public var vmcsFields: [VMCSField]

    public init(
        name: String, model: String, comments: [String] = [], cpuidLeaves: [CPUIDLeaf],
        msrs: [UInt32: UInt64], vmcsFields: [VMCSField]
    ) {
        self.name = name
        self.model = model
        self.comments = comments
        self.cpuidLeaves = cpuidLeaves
        self.msrs = msrs
        self.vmcsFields = vmcsFields
    }

    /// The captured leaf, or nil if the capture has no such leaf and subleaf.
    public func cpuid(leaf: UInt32, subleaf: UInt32) -> CPUIDResult? {
        cpuidLeaves.first { $0.leaf == leaf && $0.subleaf == subleaf }?.result
    }

    /// Whether CPUID.1:ECX.VMX[bit 5] = 1.
    public var hasVMX: Bool {
        (cpuid(leaf: VMX.CPUIDLeaf.versionAndFeatures, subleaf: 0)?.ecx ?? 0) & CPUIDFeatures1ECX.vmx.rawValue != 0
    }

    /// The VMX capability MSRs, nil when the CPU has no VMX.
    public var vmxCapabilities: VMXCapabilities? {
        guard hasVMX, msrs[MSR.ia32VMXBasic.rawValue] != nil else { return nil }
        return VMXCapabilities.read(using: { msrs[$0.rawValue] ?? 0 })
    }

    /// Whether a comment line marks the profile as synthetic (made by hand, not captured).
    public var isSynthetic: Bool { comments.contains { $0.lowercased().contains("synthetic") } }
}

/// Why a fixture could not be used: one line naming the file (and line) and the problem.
public struct ProfileError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension CapabilityProfile {
    /// Parses fixture `text`; `name` is used in error messages and becomes the profile's name.
    public static func parse(_ text: String, name: String) throws(ProfileError) -> CapabilityProfile {
        let file = name + ".fixture"
        var model: String?
        var comments: [String] = []
        var leaves: [CPUIDLeaf] = []
        var msrs: [UInt32: UInt64] = [:]
        var fields: [VMCSField] = []
        var seenFields = Set<UInt32>()
        var ended = false

        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (offset, rawLine) in lines.enumerated() {
            let number = offset + 1
            func fail(_ problem: String) -> ProfileError {
                ProfileError("\(file):\(number): \(problem): \"\(rawLine)\"")
            }
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if line.first == "#" {
                comments.append(String(line.dropFirst().drop { $0 == " " }))
                continue
            }
            if ended { throw fail("record after 'end'") }
            let tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            switch tokens[0] {
            case "model":
                guard tokens.count >= 2 else { throw fail("'model' needs a name") }
                guard model == nil else { throw fail("second 'model' record") }
                model = tokens.dropFirst().joined(separator: " ")
            case "cpuid":
                guard tokens.count == 7 else { throw fail("'cpuid' needs LEAF SUBLEAF EAX EBX ECX EDX") }
                var values: [UInt32] = []
                for token in tokens.dropFirst() {
                    guard let value = hexNumber(token, digits: 8) else {
                        throw fail("'\(token)' is not 8 hexadecimal digits")
                    }
                    values.append(UInt32(value))
                }
                guard !leaves.contains(where: { $0.leaf == values[0] && $0.subleaf == values[1] }) else {
                    throw fail(
                        """
                        leaf \(hexDigits(values[0], digits: 8)) subleaf \(hexDigits(values[1], digits: 8)) \
                        captured twice
                        """
                    )
                }
                leaves.append(
                    CPUIDLeaf(
                        leaf: values[0], subleaf: values[1],
                        result: CPUIDResult(eax: values[2], ebx: values[3], ecx: values[4], edx: values[5])))
            case "msr":
                guard tokens.count == 3 else { throw fail("'msr' needs ADDRESS VALUE") }
                guard let address = hexNumber(tokens[1], digits: 8) else {
                    throw fail("address '\(tokens[1])' is not 8 hexadecimal digits")
                }
                guard let value = hexNumber(tokens[2], digits: 16) else {
                    throw fail("value '\(tokens[2])' is not 16 hexadecimal digits")
                }
                guard msrs[UInt32(address)] == nil else { throw fail("MSR \(tokens[1]) captured twice") }
                msrs[UInt32(address)] = value
            case "vmcs-fields":
                guard tokens.count >= 2 else { throw fail("'vmcs-fields' needs at least one encoding") }
                for token in tokens.dropFirst() {
                    guard let encoding = hexNumber(token, digits: 4) else {
                        throw fail("encoding '\(token)' is not 4 hexadecimal digits")
                    }
                    let field = VMCSField(rawValue: UInt32(encoding))
                    // The capture tries every well-formed encoding, so a CPU's undocumented
                    // components appear too; a malformed one cannot have been accepted.
                    guard field.isWellFormed else {
                        throw fail("encoding \(token) is not a well-formed VMCS component encoding")
                    }
                    guard seenFields.insert(field.rawValue).inserted else {
                        throw fail("encoding \(token) listed twice")
                    }
                    fields.append(field)
                }
            case "end":
                guard tokens.count == 1 else { throw fail("'end' takes nothing") }
                ended = true
            default:
                throw fail("unknown record '\(tokens[0])'")
            }
        }
        guard ended else { throw ProfileError("\(file): no 'end' record: the capture is truncated") }
        guard let model else { throw ProfileError("\(file): no 'model' record") }
        let profile = CapabilityProfile(
            name: name, model: model, comments: comments, cpuidLeaves: leaves,
            msrs: msrs, vmcsFields: fields)
        try profile.checkCapabilityMSRsExistence(file: file)
        return profile
    }

    /// A fixture must list exactly the capability MSRs the SDM's existence rules say the CPU has
    /// (SDM Appendix A): one too many or too few means corrupt data.
    private func checkCapabilityMSRsExistence(file: String) throws(ProfileError) {
        let listed = msrs.keys.filter { VMXCapabilities.name(ofMSR: MSR(rawValue: $0)) != nil }
        guard let caps = vmxCapabilities else {
            if let address = listed.min() {
                throw ProfileError(
                    """
                    \(file): MSR \(hexDigits(address, digits: 8)) listed, but CPUID.1:ECX.VMX = 0 or \
                    IA32_VMX_BASIC is missing
                    """
                )
            }
            return
        }
        for address in VMXCapabilities.msrAddresses {
            let exists = caps.value(ofMSR: address) != nil
            let name = VMXCapabilities.name(ofMSR: address) ?? hex(address.rawValue)
            if exists && msrs[address.rawValue] == nil {
                throw ProfileError(
                    """
                    \(file): \(name) (\(hexDigits(address.rawValue, digits: 8))) exists by SDM Appendix A but has \
                    no 'msr' line
                    """
                )
            }
            if !exists && msrs[address.rawValue] != nil {
                throw ProfileError(
                    """
                    \(file): \(name) (\(hexDigits(address.rawValue, digits: 8))) has an 'msr' line but does not \
                    exist by SDM Appendix A
                    """
                )
            }
        }
    }

    /// `token` as exactly `digits` hexadecimal digits, no prefix.
    private static func hexNumber(_ token: Substring, digits: Int) -> UInt64? {
        guard token.utf8.count == digits, !token.hasPrefix("0x"), !token.hasPrefix("0X") else { return nil }
        return parseHex(ByteText(utf8: String(token)))
    }
}
