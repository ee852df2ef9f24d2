// Whole hypervisor runs on the emulated CPU: the same test guests the boot tests run in Bochs
// (guests/*.asm, assembled here with nasm; the user images linked with ld.lld), handed to the
// same `runHypervisor` the kernel calls, with the emulated CPU executing the guests' instructions
// (docs/EMULATED-CPU.md). The expected lines are the boot tests' own (Tests/boot/expectations.py,
// `guest_lines(model)`), read through python3, so both worlds are held to one list.
import Foundation
import Testing
import VMX
import EmulatedCPU
import Hypervisor

/// The emulated CPU's fault reporter for hypervisor tests: hypervisor code that faults fails
/// the running test.
func recordIssue(_ message: String) {
    Issue.record(Comment(rawValue: message))
}

enum GuestRunSupport {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// One guest image as the kernel gets it: a built-in guest's table entry (boot/guests.asm)
    /// or a boot module's command line (boot/grub-test.cfg).
    struct Image: Sendable {
        var name: String
        var commandLine: String
        var bytes: [UInt8]
        var isBuiltIn: Bool
    }

    /// The built-in guests, then the boot tests' modules, assembled once per test process.
    static let images: Result<[Image], ImageError> = {
        do throws(ImageError) { return .success(try buildImages()) } catch { return .failure(error) }
    }()

    struct ImageError: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ arguments: [String], in directory: URL? = nil) throws(ImageError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? repository
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { throw ImageError(description: "cannot run \(arguments[0]): \(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ImageError(
                description: "\(arguments.joined(separator: " ")) failed: \(String(decoding: errorData, as: UTF8.self))"
            )
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func buildImages() throws(ImageError) -> [Image] {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvmx-guests-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) } catch {
            throw ImageError(description: "cannot create \(work.path)")
        }
        defer { try? FileManager.default.removeItem(at: work) }
        let guests = repository.appendingPathComponent("guests")
        func read(_ url: URL) throws(ImageError) -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw ImageError(description: "cannot read \(url.path)")
            }
            return [UInt8](data)
        }
        func flat(_ file: String) throws(ImageError) -> [UInt8] {
            let output = work.appendingPathComponent(file.replacingOccurrences(of: ".asm", with: ".bin"))
            _ = try run([
                "nasm", "-f", "bin", "-w+all", "-I", guests.path + "/", "-o", output.path,
                guests.appendingPathComponent(file).path
            ])
            return try read(output)
        }
        func elf(_ name: String, bits: Int) throws(ImageError) -> [UInt8] {
            let object = work.appendingPathComponent(name + ".o"), output = work.appendingPathComponent(name + ".elf")
            _ = try run([
                "nasm", "-f", bits == 64 ? "elf64" : "elf32", "-w+all", "-I", guests.path + "/", "-o", object.path,
                guests.appendingPathComponent("user/\(name).asm").path
            ])
            // The Makefile's USER_LINK_FLAGS.
            _ = try run([
                linker, "-m", bits == 64 ? "elf_x86_64" : "elf_i386", "-static", "-nostdlib",
                "-e", "start", "--image-base=0x100000", "-Ttext=0x101000", "-z", "max-page-size=4096",
                "-z", "noexecstack", "-o", output.path, object.path
            ])
            return try read(output)
        }

        var images: [Image] = []
        // boot/guests.asm: BUILTIN_GUEST "name", "file.bin", "options"
        let table =
            (try? String(contentsOf: repository.appendingPathComponent("boot/guests.asm"), encoding: .utf8)) ?? ""
        for line in table.split(separator: "\n") where line.hasPrefix("BUILTIN_GUEST ") {
            let fields = line.dropFirst("BUILTIN_GUEST ".count).split(separator: "\"").filter {
                $0.trimmingCharacters(in: .whitespaces) != ","
            }
            guard fields.count == 3 else { throw ImageError(description: "cannot read the table line \(line)") }
            images.append(
                Image(
                    name: String(fields[0]), commandLine: String(fields[2]),
                    bytes: try flat(String(fields[1]).replacingOccurrences(of: ".bin", with: ".asm")), isBuiltIn: true))
        }
        // boot/grub-test.cfg: module2 /boot/guests/FILE COMMAND LINE
        let configuration =
            (try? String(contentsOf: repository.appendingPathComponent("boot/grub-test.cfg"), encoding: .utf8)) ?? ""
        for command in grubCommands(configuration) {
            guard command.count >= 2, command[0] == "module2" else { continue }
            let words = [command[0], command[1], grubCommandLine(Array(command.dropFirst(2)))]
            let file = String(words[1].split(separator: "/").last!)
            let bytes: [UInt8]
            switch file {
            case "user64.elf": bytes = try elf("user64", bits: 64)
            case "user32.elf": bytes = try elf("user32", bits: 32)
            // The Makefile's bad-class.elf: an ELF header with EI_CLASS = 3, then zeros.
            case "bad-class.elf": bytes = [0x7F, 0x45, 0x4C, 0x46, 3, 1, 1, 0] + [UInt8](repeating: 0, count: 56)
            default: bytes = try flat(file.replacingOccurrences(of: ".bin", with: ".asm"))
            }
            images.append(Image(name: file, commandLine: String(words[2]), bytes: bytes, isBuiltIn: false))
        }
        return images
    }

    /// The words of each command of a GRUB configuration: separated by blanks, a line end
    /// ending the command outside double quotes; inside them every byte is taken as it is (a
    /// line feed too), the quotes dropped.
    static func grubCommands(_ text: String) -> [[String]] {
        var commands: [[String]] = [], words: [String] = [], word: [UInt8] = []
        var quoted = false, inWord = false
        func endWord() { if inWord { words.append(String(decoding: word, as: UTF8.self)) }; word = []; inWord = false }
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") { quoted.toggle(); inWord = true; continue }
            if !quoted && (byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")) { endWord(); continue }
            if !quoted && byte == UInt8(ascii: "\n") {
                endWord(); if !words.isEmpty { commands.append(words) }; words = []; continue
            }
            word.append(byte)
            inWord = true
        }
        endWord()
        if !words.isEmpty { commands.append(words) }
        return commands
    }

    /// A module's command line as GRUB builds it from the words (grub_create_loader_cmdline):
    /// joined by spaces, a word with a space quoted, backslash before \\, ' and ".
    static func grubCommandLine(_ words: [String]) -> String {
        words.map { word -> String in
            var text = ""
            for character in word {
                if character == "\\" || character == "'" || character == "\"" { text.append("\\") }
                text.append(character)
            }
            return word.contains(" ") ? "\"" + text + "\"" : text
        }.joined(separator: " ")
    }

    /// The toolchain's ld.lld (as the Makefile's `$(SWIFT_BIN)/ld.lld`), else one on PATH.
    static var linker: String {
        let swiftBin = ProcessInfo.processInfo.environment["SWIFT_BIN"] ?? "/opt/swift/usr/bin"
        let candidate = swiftBin + "/ld.lld"
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : "ld.lld"
    }

    /// Where the images go in the emulated CPU's memory: above the kernel's 4 MiB, below the
    /// arena (PhysicalLayout, 16 MiB).
    static let imageBase: UInt64 = 0x40_0000

    final class Lines: @unchecked Sendable {
        var lines: [String] = []
    }

    /// Runs the hypervisor with `images` (by default the built-in guests and the boot tests'
    /// modules) on a CPU like `profile`'s; returns the lines it printed (log and console, in
    /// order) and whether it succeeded.
    static func runHypervisor(profile name: String, images: [Image]? = nil) throws
        -> (lines: [String], succeeded: Bool, cpu: EmulatedCPU)
    {
        let images = try images ?? GuestRunSupport.images.get()
        let cpu = EmulatedCPU(
            profile: try CapabilityProfile.load(named: name), memorySize: 64 << 20,
            faultReporter: recordIssue)
        // A time budget of 20,000,000 TSC cycles (the loop guest's) takes 312,500 instructions.
        cpu.tscCyclesPerInstruction = 64
        // The host's work for a guest takes time, as in Bochs (the flood guest's budget).
        cpu.tscCyclesPerHostAccess = 4
        cpu.guestInstructionLimit = 1_000_000
        var guestImages: [GuestImage] = []
        var address = imageBase
        var moduleIndex = 0
        for image in images {
            for (offset, byte) in image.bytes.enumerated() { cpu.memory.write8(address + UInt64(offset), byte) }
            let name = image.isBuiltIn ? image.name : "module \(moduleIndex)"
            if !image.isBuiltIn { moduleIndex += 1 }
            guestImages.append(
                GuestImage(
                    name: name, address: address, size: UInt64(image.bytes.count),
                    commandLine: image.commandLine, isBuiltIn: image.isBuiltIn))
            address = (address + UInt64(image.bytes.count) + 0xFFF) & ~0xFFF
        }
        let host = HostState.emulatedKernel(cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4, efer: cpu.efer)
        let output = Lines()
        cpu.consoleHandler = { output.lines.append($0) }
        var arena = PageArena()
        let succeeded = Hypervisor.runHypervisor(
            on: cpu, arena: &arena, options: BootOptions(), host: host,
            guests: guestImages)
        return (output.lines, succeeded, cpu)
    }

    /// The boot tests' expected guest lines for a Bochs model (Tests/boot/expectations.py).
    static func expectedLines(model: String) throws -> [String]? {
        let script = """
            import sys
            sys.path.insert(0, "Tests/boot")
            import expectations as e
            if sys.argv[1] in e.VMX:
                print("\\n".join(e.guest_lines(sys.argv[1])))
            else:
                print("NOT A BOCHS VMX MODEL")
            """
        let output = try run(["python3", "-c", script, model])
        if output.hasPrefix("NOT A BOCHS VMX MODEL") { return nil }
        return output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// The boot tests' judgement (Tests/boot/run.py): every expected line appears in the log, as
    /// a substring, in order. Returns the first line not found, with the log position searched.
    static func firstMissing(_ expected: [String], in lines: [String]) -> (line: String, after: Int)? {
        let log = lines.joined(separator: "\n")
        var position = log.startIndex
        for line in expected {
            guard let range = log.range(of: line, range: position..<log.endIndex) else {
                return (line, log.distance(from: log.startIndex, to: position))
            }
            position = range.upperBound
        }
        return nil
    }
}
