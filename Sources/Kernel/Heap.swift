// The kernel heap behind `posix_memalign` and `free`, which the Embedded Swift runtime calls
// for every class instance, array and string buffer.
//
// Small blocks (up to 2 KiB with their header, alignment up to 16) come in seven size
// classes, each with a free list, carved from 64-KiB chunks of pages. Larger or more aligned
// blocks take whole pages from the page allocator and give them back on `free`. Until the
// page allocator exists (while the boot information is parsed) every block is cut to size from
// the 8-KiB early arena below 1 MiB (linker/kernel.ld), which is never reused; when it is full
// the kernel stops with a line that says so.
//
// Every block has a 16-byte header just below the pointer handed out: the block kind and,
// for page blocks, the first page and the page count.
//
// Several processors run Swift code at once (Processors.swift): one lock serialises the heap
// and the page allocator behind it.
import Hypervisor
import VMX
import Intrinsics

enum Heap {
    private static let headerSize = 16
    private static let classCount = 7  // 32, 64, ..., 2048 bytes, header included
    private static let smallest = 32
    private static let chunkPages = 16
    private static let smallMagic: UInt64 = 0x5356_4D58_0000_0000  // "SVMX" | class
    private static let pageMagic: UInt64 = 0x5356_4D50_0000_0000  // "SVMP" | page count
    private static let earlyMagic: UInt64 = 0x5356_4D45_0000_0000  // "SVME"
    private static let magicMask: UInt64 = 0xFFFF_FFFF_0000_0000

    // Free-list heads, one word per size class.
    nonisolated(unsafe) private static var freeLists: (UInt, UInt, UInt, UInt, UInt, UInt, UInt) =
        (0, 0, 0, 0, 0, 0, 0)
    nonisolated(unsafe) private static var chunkNext: UInt = 0
    nonisolated(unsafe) private static var chunkEnd: UInt = 0
    nonisolated(unsafe) private static var earlyNext: UInt = 0
    /// The owner's CPU index + 1, 0 when free. The owner may come back (the page allocator's
    /// arrays are the heap's); the wait is bounded.
    nonisolated(unsafe) private static var lockWord: UInt32 = 0

    /// Takes the lock; false when this processor holds it already (then it must not unlock).
    static func lock() -> Bool {
        let me = (PerCPU.current?.index ?? 0) + 1
        if x86_atomic_load32(&lockWord) == me { return false }
        var turns = 0
        while !x86_atomic_cas32(&lockWord, 0, me) {
            turns += 1
            if turns == 100_000_000 {
                log(
                    """
                    FATAL: the heap lock is still held by cpu \(x86_atomic_load32(&lockWord) &- 1) after 100000000 \
                    turns
                    """
                )
                exitMachine(success: false)
            }
            x86_pause()
        }
        return true
    }

    static func unlock() { x86_atomic_store32(&lockWord, 0) }

    /// An AP that faults gives the lock back (Exceptions.swift).
    static func releaseLock(ifHeldBy index: UInt32) { _ = x86_atomic_cas32(&lockWord, index + 1, 0) }

    static func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        let alignment = max(alignment, headerSize)
        guard alignment & (alignment - 1) == 0, alignment <= Int(PhysicalPageAllocator.pageSize),
            size >= 0, size < 1 << 40
        else { return nil }
        // Early blocks are cut to size: the early arena is never reused, so size classes would
        // only waste it.
        guard KernelMemory.pages != nil else {
            guard let pointer = carveEarly(size: size, alignment: alignment) else { outOfMemory(size) }
            setHeader(pointer, earlyMagic, 0)
            return UnsafeMutableRawPointer(bitPattern: pointer)
        }
        if alignment == headerSize, let sizeClass = sizeClass(for: size + headerSize) {
            return allocateSmall(sizeClass)
        }
        let pages = (size + alignment + Int(PhysicalPageAllocator.pageSize) - 1) / Int(PhysicalPageAllocator.pageSize)
        guard let first = KernelMemory.pages!.allocateContiguousPages(pages) else { outOfMemory(size) }
        let pointer = UInt(first) + UInt(alignment)
        setHeader(pointer, pageMagic | UInt64(pages), UInt64(first))
        return UnsafeMutableRawPointer(bitPattern: pointer)
    }

    static func free(_ memory: UnsafeMutableRawPointer) {
        let pointer = UInt(bitPattern: memory)
        let (kind, word) = header(pointer)
        switch kind & magicMask {
        case smallMagic:
            let sizeClass = Int(kind & 0xFF)
            UnsafeMutablePointer<UInt>(bitPattern: pointer - UInt(headerSize))!.pointee = freeListHead(sizeClass)
            setFreeListHead(sizeClass, pointer - UInt(headerSize))
        case pageMagic:
            let pages = Int(kind & 0xFFFF_FFFF)
            for index in 0..<pages {
                KernelMemory.pages!.freePage(word + UInt64(index) * PhysicalPageAllocator.pageSize)
            }
        case earlyMagic:
            break  // the early arena is never reused
        default:
            fatal("free: pointer without a heap block header")
        }
    }

    private static func sizeClass(for bytes: Int) -> Int? {
        var sizeClass = 0
        while sizeClass < classCount {
            if bytes <= smallest << sizeClass { return sizeClass }
            sizeClass += 1
        }
        return nil
    }

    private static func allocateSmall(_ sizeClass: Int) -> UnsafeMutableRawPointer {
        let blockSize = smallest << sizeClass
        var block = freeListHead(sizeClass)
        if block != 0 {
            setFreeListHead(sizeClass, UnsafePointer<UInt>(bitPattern: block)!.pointee)
        } else {
            if chunkEnd - chunkNext < UInt(blockSize) {
                refillChunk(blockSize)
            }
            block = chunkNext
            chunkNext += UInt(blockSize)
        }
        let pointer = block + UInt(headerSize)
        setHeader(pointer, smallMagic | UInt64(sizeClass), 0)
        return UnsafeMutableRawPointer(bitPattern: pointer)!
    }

    /// A new chunk of pages for small blocks (only once the page allocator exists: early blocks
    /// are cut to size), or the FATAL line for a block of `blockSize` bytes.
    private static func refillChunk(_ blockSize: Int) {
        guard let first = KernelMemory.pages!.allocateContiguousPages(chunkPages) else { outOfMemory(blockSize) }
        chunkNext = UInt(first)
        chunkEnd = chunkNext + UInt(chunkPages) * UInt(PhysicalPageAllocator.pageSize)
    }

    private static func carveEarly(size: Int, alignment: Int) -> UInt? {
        initializeEarly()
        let pointer = (earlyNext + UInt(headerSize) + UInt(alignment) - 1) & ~(UInt(alignment) - 1)
        let end = UInt(kernel_early_heap_end())
        guard pointer <= end, UInt(size) <= end - pointer else { return nil }
        earlyNext = (pointer + UInt(size) + 15) & ~15
        return pointer
    }

    /// The Embedded Swift runtime traps on a failed allocation (a bare #UD in
    /// swift_allocObject): say which memory ran out instead, and stop.
    private static func outOfMemory(_ bytes: Int) -> Never {
        if KernelMemory.pages == nil {
            log(
                """
                FATAL: the early heap [\(hex: UInt64(kernel_early_heap_start())), \
                \(hex: UInt64(kernel_early_heap_end()))) is full (\(bytes) more bytes wanted) before the page \
                allocator exists: the boot information lists more modules or memory-map entries than it can hold
                """
            )
        } else {
            log("FATAL: out of memory: the page allocator has no room for a heap block of \(bytes) bytes")
        }
        exitMachine(success: false)
    }

    private static func initializeEarly() {
        if earlyNext == 0 { earlyNext = UInt(kernel_early_heap_start()) }
    }

    private static func setHeader(_ pointer: UInt, _ kind: UInt64, _ word: UInt64) {
        let header = UnsafeMutablePointer<UInt64>(bitPattern: pointer - UInt(headerSize))!
        header[0] = word
        header[1] = kind
    }

    private static func header(_ pointer: UInt) -> (kind: UInt64, word: UInt64) {
        let header = UnsafePointer<UInt64>(bitPattern: pointer - UInt(headerSize))!
        return (header[1], header[0])
    }

    private static func freeListHead(_ sizeClass: Int) -> UInt {
        withUnsafeBytes(of: &freeLists) { $0.load(fromByteOffset: sizeClass * 8, as: UInt.self) }
    }

    private static func setFreeListHead(_ sizeClass: Int, _ block: UInt) {
        withUnsafeMutableBytes(of: &freeLists) { $0.storeBytes(of: block, toByteOffset: sizeClass * 8, as: UInt.self) }
    }
}

/// The Embedded Swift runtime's allocation entry point (`swift_slowAlloc`).
@_cdecl("posix_memalign")
public func posix_memalign(
    _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>,
    _ alignment: Int, _ size: Int
) -> CInt {
    let locked = Heap.lock()
    defer { if locked { Heap.unlock() } }
    guard let memory = Heap.allocate(size: size, alignment: alignment) else {
        result.pointee = nil
        return 12  // ENOMEM
    }
    result.pointee = memory
    return 0
}

/// `free`, reached through a jump in boot/runtime.asm: Swift reserves the name `free` for
/// its runtime, so the Swift side has another name.
@_cdecl("kernel_heap_free")
public func kernelHeapFree(_ memory: UnsafeMutableRawPointer?) {
    guard let memory else { return }
    let locked = Heap.lock()
    defer { if locked { Heap.unlock() } }
    Heap.free(memory)
}
