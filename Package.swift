// swift-tools-version: 6.0
// One package, two worlds (docs/ARCHITECTURE.md):
//  - hosted (`swift build`, `swift test`): VMX, Hypervisor and EmulatedCPU as ordinary
//    Linux modules, unit-tested with swift-testing;
//  - bare metal (`make`, which sets VMX_KERNEL=1): VMX, Hypervisor and Kernel compiled as
//    Embedded Swift for x86_64-unknown-none-elf into one static library that ld.lld links
//    with the nasm objects from boot/.
import PackageDescription

let bareMetal = Context.environment["VMX_KERNEL"] == "1"

let embeddedSettings: [SwiftSetting] =
    bareMetal
    ? [.enableExperimentalFeature("Embedded"), .unsafeFlags(["-wmo"])] : []

var targets: [Target] = [
    .target(name: "VMX", swiftSettings: embeddedSettings),
    .target(name: "Hypervisor", dependencies: ["VMX"], swiftSettings: embeddedSettings)
]
var products: [Product] = []

if bareMetal {
    targets += [
        .target(name: "Intrinsics"),
        .target(
            name: "Kernel", dependencies: ["Hypervisor", "VMX", "Intrinsics"],
            swiftSettings: embeddedSettings)
    ]
    products += [.library(name: "Kernel", type: .static, targets: ["Kernel"])]
} else {
    // Unicorn 2.1.4, unpacked from its PyPI wheel into build/unicorn by tools/fetch-unicorn
    // (`make unicorn`, a prerequisite of `make unit-test`): the emulated CPU executes guest
    // instructions with it (docs/EMULATED-CPU.md). CUnicorn's header includes it by a relative
    // path; its static library is linked from there.
    let unicornLibrary = Context.packageDirectory + "/build/unicorn/unicorn/lib/libunicorn.a"
    targets += [
        .target(
            name: "CUnicorn",
            linkerSettings: [
                .unsafeFlags([unicornLibrary]), .linkedLibrary("m"), .linkedLibrary("pthread")
            ]),
        // Optimized even in debug builds: it runs every guest instruction's hook.
        .target(
            name: "EmulatedCPU", dependencies: ["VMX", "Hypervisor", "CUnicorn"],
            swiftSettings: [.unsafeFlags(["-O"])]),
        .executableTarget(name: "emulated-cpu-bench", dependencies: ["EmulatedCPU", "Hypervisor", "VMX"]),
        .executableTarget(name: "vmx-entry-check", dependencies: ["EmulatedCPU", "Hypervisor", "VMX"]),
        .testTarget(
            name: "VMXTests", dependencies: ["VMX"],
            resources: []),
        .testTarget(name: "HypervisorTests", dependencies: ["Hypervisor", "VMX", "EmulatedCPU"]),
        .testTarget(name: "EmulatedCPUTests", dependencies: ["EmulatedCPU", "Hypervisor", "VMX"])
    ]
}

let package = Package(
    name: "SwiftVMX",
    products: products,
    targets: targets
)
