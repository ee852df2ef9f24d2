// vmx-entry-check: scenario files (docs/SCENARIOS.md) on the emulated CPU configured with a
// capability profile, through the same runner the kernel uses (Hypervisor.runScenarios).
//
//     swift run vmx-entry-check --profile NAME FILE...
//     swift run vmx-entry-check --profile NAME --exits FILE...   (exit programs: one line per VM
//                                                                 exit, Hypervisor.runExitPrograms)
//     swift run vmx-entry-check --list-rules
//
// Prints, for each file, exactly one line `NAME: OUTCOME` (NAME the file's base name) and its
// explanation lines, indented by two spaces. A file with bad input reports the line at fault
// and the next file runs. Exit status: 0, or 2 for a usage error or an unknown profile.
import EmulatedCPU
import Foundation
import Hypervisor
import VMX

func usage(_ message: String) -> Never {
    FileHandle.standardError.write(
        Data(
            ("vmx-entry-check: " + message
                + """
                \nusage: vmx-entry-check --profile NAME [--dump | --exits] FILE...\n       \
                vmx-entry-check --list-rules\n  \
                --dump        print the VMCS (after the overrides) before each launch\n  \
                --exits       the files are exit programs: one line per VM exit\n  \
                --list-rules  print every entry rule, in check order: IDENTIFIER SECTION CLASS QUALIFICATION\n
                """
                + "profiles: " + CapabilityProfile.availableNames().joined(separator: " ") + "\n").utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var profileName: String? = nil
var paths: [String] = []
var dump = false
var exits = false
while !arguments.isEmpty {
    let argument = arguments.removeFirst()
    if argument == "--profile" {
        guard !arguments.isEmpty else { usage("--profile needs a NAME") }
        profileName = arguments.removeFirst()
    } else if argument.hasPrefix("--profile=") {
        profileName = String(argument.dropFirst("--profile=".count))
    } else if argument == "--dump" {
        dump = true
    } else if argument == "--exits" {
        exits = true
    } else if argument == "--list-rules" {
        // The rule list for tools that count which rule failed first (tools/fuzz-entry).
        for rule in EntryRules.all {
            print(
                rule.identifier + " " + rule.section + " "
                    + rule.ruleClass.name.replacingOccurrences(of: " ", with: "-")
                    + " " + String(rule.qualification))
        }
        exit(0)
    } else if argument == "--help" || argument == "-h" {
        usage("runs VM-entry scenario files on the emulated CPU")
    } else {
        paths.append(argument)
    }
}
guard let profileName else { usage("no --profile given") }
guard !paths.isEmpty else { usage("no scenario FILE given") }

let profile: CapabilityProfile
do { profile = try CapabilityProfile.load(named: profileName) } catch {
    usage("unknown profile \(profileName): \(error)")
}

// A fault of the hypervisor code is a defect of this tool: said on stderr, the run goes on.
let cpu = EmulatedCPU(
    profile: profile, memorySize: 64 << 20,
    faultReporter: { message in
        FileHandle.standardError.write(Data(("vmx-entry-check: " + message + "\n").utf8))
    })
cpu.consoleHandler = { line in print(line) }
var arena = PageArena()
do {
    _ = try enableVMX(on: cpu, arena: &arena, quiet: true)
} catch {
    print("vmx-entry-check: VMX cannot be enabled on profile \(profileName): \(error.description)")
    exit(1)
}

// The files go where the kernel's boot modules would: below the arena (PhysicalLayout).
var address: UInt64 = 0x40_0000
var files: [ScenarioFile] = []
for path in paths {
    let name = URL(fileURLWithPath: path).lastPathComponent
    guard let data = FileManager.default.contents(atPath: path) else {
        print(name + ": error: cannot read " + path)
        continue
    }
    let bytes = [UInt8](data)
    guard address + UInt64(bytes.count) <= PhysicalLayout.arenaBase else {
        print(name + ": error: no room for the file below the arena")
        continue
    }
    for (offset, byte) in bytes.enumerated() { cpu.memory.write8(address + UInt64(offset), byte) }
    files.append(ScenarioFile(name: name, address: address, size: UInt64(bytes.count)))
    address = (address + UInt64(bytes.count) + 0xFFF) & ~0xFFF
}

let host = HostState.emulatedKernel(cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4, efer: cpu.efer)
let healthy =
    exits
    ? runExitPrograms(
        files, capabilities: VMXCapabilities.read(from: cpu), host: host, options: .linesOnly, arena: &arena,
        cpu: cpu)
    : runScenarios(
        files, capabilities: VMXCapabilities.read(from: cpu), host: host, options: .linesOnly,
        dump: dump, arena: &arena, cpu: cpu)
exit(healthy ? 0 : 1)
