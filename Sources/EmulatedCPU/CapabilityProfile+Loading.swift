// Finding fixtures: Tests/fixtures/<name>.fixture relative to this package, located through
// this source file's path so tests find them wherever the package is checked out.
import Foundation

extension CapabilityProfile {
    /// The package's Tests/fixtures directory.
    public static var fixturesDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // Sources/EmulatedCPU
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("Tests/fixtures", isDirectory: true)
    }

    /// The names of the fixtures present, sorted; tests iterate over these rather than assume
    /// which CPUs have been captured.
    public static func availableNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: fixturesDirectory.path)) ?? []
        return files.filter { $0.hasSuffix(".fixture") }.map { String($0.dropLast(".fixture".count)) }.sorted()
    }

    /// Loads and parses Tests/fixtures/`name`.fixture.
    public static func load(named name: String) throws(ProfileError) -> CapabilityProfile {
        let url = fixturesDirectory.appendingPathComponent(name + ".fixture")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            let available = availableNames().joined(separator: ", ")
            throw ProfileError("\(name).fixture: not found in \(fixturesDirectory.path) (available: \(available))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ProfileError("\(name).fixture: not UTF-8 text")
        }
        return try parse(text, name: name)
    }

    /// Every fixture present, parsed.
    public static func loadAll() throws(ProfileError) -> [CapabilityProfile] {
        var profiles: [CapabilityProfile] = []
        for name in availableNames() { profiles.append(try load(named: name)) }
        return profiles
    }
}
