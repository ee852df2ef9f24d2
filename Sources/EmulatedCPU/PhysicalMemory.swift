// The emulated CPU's physical memory: a zero-filled byte range starting at address 0, where
// the VMXON region, the VMCS regions and everything the VMCS points to really live.
//
// Addresses beyond the installed memory behave as on a PC with nothing decoded there: reads
// return all ones and writes are dropped. That is how a pointer past the end of memory gets
// its architectural outcome (e.g. VMPTRLD reads revision FFFFFFFFH and fails with error 11)
// instead of crashing the test process.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public final class PhysicalMemory {
    /// Installed bytes.
    public let size: Int
    /// Counts writes through this type (not the guest's own, which its emulator tracks): guest
    /// execution re-translates guest code only after one (GuestExecution).
    private(set) var writeGeneration: UInt64 = 0
    private let bytes: UnsafeMutableRawPointer

    /// `size` bytes, all zero. An anonymous mapping hands out lazily zeroed pages, so 64 MiB
    /// costs only what is touched, and it is page aligned, so guest execution can map it into
    /// Unicorn page by page (GuestExecution).
    public init(size: Int) {
        precondition(size > 0, "physical memory needs at least one byte")
        self.size = size
        guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            memory != MAP_FAILED
        else { fatalError("cannot allocate \(size) bytes of emulated memory") }
        bytes = memory
    }

    deinit { munmap(bytes, size) }

    /// The first byte of the installed memory (for mapping it into the guest's emulator).
    var baseAddress: UnsafeMutableRawPointer { bytes }

    /// Whether `count` bytes at `address` are all installed memory.
    public func contains(_ address: UInt64, count: Int) -> Bool {
        address < UInt64(size) && UInt64(size) - address >= UInt64(count)
    }

    public func read8(_ address: UInt64) -> UInt8 {
        contains(address, count: 1) ? bytes.load(fromByteOffset: Int(address), as: UInt8.self) : 0xFF
    }

    public func write8(_ address: UInt64, _ value: UInt8) {
        writeGeneration &+= 1
        guard contains(address, count: 1) else { return }
        bytes.storeBytes(of: value, toByteOffset: Int(address), as: UInt8.self)
    }

    /// Little-endian, like the processor.
    public func read32(_ address: UInt64) -> UInt32 {
        if contains(address, count: 4) {
            return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: Int(address), as: UInt32.self))
        }
        // Straddling the end of memory (or of the address space, which does not wrap): byte by byte.
        var value: UInt32 = 0
        for offset in 0..<4 {
            let (byteAddress, overflow) = address.addingReportingOverflow(UInt64(offset))
            value |= UInt32(overflow ? 0xFF : read8(byteAddress)) << (8 * UInt32(offset))
        }
        return value
    }

    public func write32(_ address: UInt64, _ value: UInt32) {
        writeGeneration &+= 1
        if contains(address, count: 4) {
            bytes.storeBytes(of: value.littleEndian, toByteOffset: Int(address), as: UInt32.self)
            return
        }
        for offset in 0..<4 {
            let (byteAddress, overflow) = address.addingReportingOverflow(UInt64(offset))
            if !overflow { write8(byteAddress, UInt8(truncatingIfNeeded: value >> (8 * UInt32(offset)))) }
        }
    }

    public func read64(_ address: UInt64) -> UInt64 {
        if contains(address, count: 8) {
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: Int(address), as: UInt64.self))
        }
        let (upper, overflow) = address.addingReportingOverflow(4)
        return UInt64(read32(address)) | UInt64(overflow ? 0xFFFF_FFFF : read32(upper)) << 32
    }

    public func write64(_ address: UInt64, _ value: UInt64) {
        writeGeneration &+= 1
        if contains(address, count: 8) {
            bytes.storeBytes(of: value.littleEndian, toByteOffset: Int(address), as: UInt64.self)
            return
        }
        write32(address, UInt32(truncatingIfNeeded: value))
        let (upper, overflow) = address.addingReportingOverflow(4)
        if !overflow { write32(upper, UInt32(truncatingIfNeeded: value >> 32)) }
    }

    /// A guest's engine wrote memory it maps (those writes bypass this type): an engine of
    /// another CPU over the same memory must re-translate guest code (EmulatedMachine).
    func noteGuestWrites() { writeGeneration &+= 1 }

    /// Zeroes the installed part of `count` bytes at `address`.
    public func zero(_ address: UInt64, count: Int) {
        writeGeneration &+= 1
        guard count > 0, address < UInt64(size) else { return }
        let (requestedEnd, overflow) = address.addingReportingOverflow(UInt64(count))
        let end = overflow ? UInt64(size) : min(UInt64(size), requestedEnd)
        memset(bytes + Int(address), 0, Int(end - address))
    }
}
