// The physical page allocator: 4-KiB pages from the RAM the boot loader's memory map reports,
// minus what is in use (the first MiB, the kernel image, the boot information and modules,
// the hypervisor's fixed arena). Physical memory is identity-mapped, so a page's address is
// also its pointer; only memory below `mappedLimit` (the boot page tables' reach) is used.
//
// Free memory is a short sorted list of page ranges. Allocation takes the lowest page that
// satisfies the request; freed single pages go on a list linked through their first eight
// bytes and are reused first.
import Hypervisor
import VMX

public struct PhysicalPageAllocator {
    public static let pageSize: UInt64 = 4096

    /// Unallocated pages: ascending, disjoint, page-aligned, none empty.
    public private(set) var ranges: [PhysicalRange]
    /// Head of the list of freed pages (0: empty; page 0 is never handed out).
    private var freedHead: UInt64 = 0
    private var freedCount = 0

    /// `available` is RAM; `reserved` are ranges to keep out, whatever their alignment.
    /// Everything happens in one array sized once: this runs on the early heap, which never
    /// reuses memory (Heap.swift), and each hole splits at most one range in two.
    public init(available: [PhysicalRange], reserved: [PhysicalRange], mappedLimit: UInt64) {
        var free: [PhysicalRange] = []
        free.reserveCapacity(available.count + reserved.count)
        for range in available {
            let clipped = PhysicalRange(start: range.start, end: min(range.end, mappedLimit))
                .shrunkToPages(Self.pageSize)
            if !clipped.isEmpty { free.append(clipped) }
        }
        PhysicalRange.sortByStart(&free)
        // Merge overlapping or adjacent entries (a map may repeat or split RAM).
        var merged = 0
        for piece in free {
            if merged > 0 && piece.start <= free[merged - 1].end {
                free[merged - 1].end = max(free[merged - 1].end, piece.end)
            } else {
                free[merged] = piece
                merged += 1
            }
        }
        free.removeLast(free.count - merged)
        // Punch the holes; a range split in two keeps its lower part in place and puts the
        // upper part at the end, and the list is sorted again afterwards.
        for hole in reserved {
            let hole = hole.grownToPages(Self.pageSize)
            var index = 0
            while index < free.count {
                let range = free[index]
                if !range.overlaps(hole) {
                    index += 1
                } else if range.start < hole.start {
                    free[index] = PhysicalRange(start: range.start, end: hole.start)
                    if hole.end < range.end { free.append(PhysicalRange(start: hole.end, end: range.end)) }
                    index += 1
                } else if hole.end < range.end {
                    free[index] = PhysicalRange(start: hole.end, end: range.end)
                    index += 1
                } else {
                    free[index] = free[free.count - 1]  // covered: the last range takes its place
                    free.removeLast()
                }
            }
        }
        PhysicalRange.sortByStart(&free)
        ranges = free
    }

    public var freePageCount: Int {
        var pages = freedCount
        for range in ranges { pages += Int(range.size / Self.pageSize) }
        return pages
    }

    /// One zeroed page whose last byte lies below `limit`, or nil.
    public mutating func allocatePage(below limit: UInt64 = UInt64.max) -> UInt64? {
        // The freed list first: take the first entry below the limit.
        var previous: UInt64 = 0
        var page = freedHead
        while page != 0 {
            let next = Self.word(at: page)
            if page <= limit &- Self.pageSize && limit >= Self.pageSize {
                if previous == 0 { freedHead = next } else { Self.setWord(at: previous, next) }
                freedCount -= 1
                Self.zero(page, pages: 1)
                return page
            }
            previous = page
            page = next
        }
        return allocateContiguousPages(1, below: limit)
    }

    /// `count` zeroed, physically contiguous pages whose last byte lies below `limit`; returns
    /// the first page's address, or nil.
    public mutating func allocateContiguousPages(_ count: Int, below limit: UInt64 = UInt64.max) -> UInt64? {
        guard count > 0 else { return nil }
        let bytes = UInt64(count) * Self.pageSize
        for index in ranges.indices {
            let range = ranges[index]
            guard range.size >= bytes, range.start <= limit &- bytes, limit >= bytes else { continue }
            let start = range.start
            if range.size == bytes {
                ranges.remove(at: index)
            } else {
                ranges[index].start = start + bytes
            }
            Self.zero(start, pages: count)
            return start
        }
        return nil
    }

    /// Keeps `count` contiguous free pages (the lowest that fit) as the only memory this
    /// allocator hands out from now on, and gives up every other free page: the returned
    /// ranges, which a pass-through guest then owns (docs/LINUX.md, "Memory"). Pages already
    /// handed out and freed single pages stay the kernel's. Nil when no such run exists.
    public mutating func confine(toPages count: Int) -> (pool: PhysicalRange, released: [PhysicalRange])? {
        let bytes = UInt64(count) * Self.pageSize
        guard let index = ranges.firstIndex(where: { $0.size >= bytes }) else { return nil }
        let pool = PhysicalRange(start: ranges[index].start, size: bytes)
        var released = ranges
        released[index].start = pool.end
        released.removeAll { $0.isEmpty }
        ranges = [pool]
        return (pool, released)
    }

    /// Returns one page obtained from this allocator.
    public mutating func freePage(_ page: UInt64) {
        precondition(page != 0 && page & (Self.pageSize - 1) == 0, "freePage: not a page address")
        Self.setWord(at: page, freedHead)
        freedHead = page
        freedCount += 1
    }

    // Identity mapping: a physical address is a pointer.
    private static func word(at address: UInt64) -> UInt64 {
        UnsafePointer<UInt64>(bitPattern: UInt(address))!.pointee
    }
    private static func setWord(at address: UInt64, _ value: UInt64) {
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(address))!.pointee = value
    }
    private static func zero(_ address: UInt64, pages: Int) {
        UnsafeMutableRawPointer(bitPattern: UInt(address))!
            .initializeMemory(as: UInt8.self, repeating: 0, count: pages * Int(pageSize))
    }
}
