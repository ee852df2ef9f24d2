// Little-endian stores of any width at any alignment into physical memory, through the
// processor's 32-bit accesses: the write side of `ImageBytes` (Guests/GuestImage.swift), for
// the structures the Linux loader builds (the zero page, setup_data nodes, the command line).
import VMX

struct PhysicalWriter<P: Processor> {
    let cpu: P
    let base: UInt64

    @inline(never)
    func u8(_ offset: UInt64, _ value: UInt64) {
        writeByte(base &+ offset, UInt8(truncatingIfNeeded: value), cpu: cpu)
    }
    @inline(never)
    func u16(_ offset: UInt64, _ value: UInt64) {
        u8(offset, value)
        u8(offset &+ 1, value >> 8)
    }
    @inline(never)
    func u32(_ offset: UInt64, _ value: UInt64) {
        u16(offset, value)
        u16(offset &+ 2, value >> 16)
    }
    @inline(never)
    func u64(_ offset: UInt64, _ value: UInt64) {
        u32(offset, value)
        u32(offset &+ 4, value >> 32)
    }
}
