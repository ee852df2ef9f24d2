// C symbols the Embedded Swift standard library calls and the kernel must provide
// (docs/KERNEL.md). The allocator (`posix_memalign`, `free`) is in Heap.swift; `memset`,
// `memcpy`, `memmove`, `memcmp` and the `free` trampoline are in boot/runtime.asm.
import Intrinsics

/// `print` writes through `putchar`, one byte at a time.
@_cdecl("putchar")
public func putchar(_ character: CInt) -> CInt {
    Serial.write(UInt8(truncatingIfNeeded: character))
    return character
}

/// Seeds for hashing (`Hasher`). Nothing here is secret, so a xorshift generator seeded from
/// the time-stamp counter is enough.
@_cdecl("arc4random_buf")
public func arc4random_buf(_ buffer: UnsafeMutableRawPointer, _ count: Int) {
    var state = x86_rdtsc() | 1
    for index in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        buffer.storeBytes(of: UInt8(truncatingIfNeeded: state), toByteOffset: index, as: UInt8.self)
    }
}
