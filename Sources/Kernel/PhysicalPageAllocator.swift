// The physical page allocator: 4-KiB pages from the RAM the boot loader's memory map reports,
// minus what is in use (the first MiB, the kernel image, the boot information and modules,
// the hypervisor's fixed arena). Physical memory is identity-mapped, so a page's address is
// also its pointer; only memory below `mappedLimit` (the boot page tables' reach) is used.
//
// Free memory is a short sorted list of page ranges. Allocation takes the lowest page that
// satisfies the request; freed single pages go on a list linked through their first eight
// bytes and are reused first.

public struct PhysicalPageAllocator {
    public static let pageSize: UInt64 = 4096

    /// Unallocated pages: ascending, disjoint, page-aligned, none empty.
    public private(set) var ranges: [PhysicalRange]
    /// Head of the list of freed pages (0: empty; page 0 is never handed out).
    private var freedHead: UInt64 = 0
    private var freedCount = 0

    /// `available` is RAM; `reserved` are ranges to keep out, whatever their alignment.
    public init(available: [PhysicalRange], reserved: [PhysicalRange], mappedLimit: UInt64) {
        var pieces: [PhysicalRange] = []
        for range in available {
            let clipped = PhysicalRange(start: range.start, end: min(range.end, mappedLimit))
                .shrunkToPages(Self.pageSize)
            if !clipped.isEmpty { pieces.append(clipped) }
        }
        // Insertion sort: a memory map has a handful of entries, and the library sort costs
        // kilobytes of code.
        for index in pieces.indices.dropFirst() {
            var position = index
            let piece = pieces[index]
            while position > 0 && pieces[position - 1].start > piece.start {
                pieces[position] = pieces[position - 1]
                position -= 1
            }
            pieces[position] = piece
        }
        // Merge overlapping or adjacent entries (a map may repeat or split RAM).
        var merged: [PhysicalRange] = []
        for piece in pieces {
            if let last = merged.last, piece.start <= last.end {
                merged[merged.count - 1].end = max(last.end, piece.end)
            } else {
                merged.append(piece)
            }
        }
        for hole in reserved {
            let hole = hole.grownToPages(Self.pageSize)
            var next: [PhysicalRange] = []
            for range in merged {
                guard range.overlaps(hole) else { next.append(range); continue }
                if range.start < hole.start { next.append(PhysicalRange(start: range.start, end: hole.start)) }
                if hole.end < range.end { next.append(PhysicalRange(start: hole.end, end: range.end)) }
            }
            merged = next
        }
        ranges = merged
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
