// A half-open range of physical addresses, [start, end).
import VMX

public struct PhysicalRange: Equatable, Sendable {
    public var start: UInt64
    public var end: UInt64

    /// 4 GiB: the end of the 32-bit physical address space.
    public static let fourGiB: UInt64 = 1 << 32

    public init(start: UInt64, end: UInt64) {
        self.start = start
        self.end = end
    }

    public init(start: UInt64, size: UInt64) {
        self.start = start
        self.end = UInt64.max - start < size ? UInt64.max : start + size
    }

    public var size: UInt64 { end > start ? end - start : 0 }
    public var isEmpty: Bool { end <= start }

    public func overlaps(_ other: PhysicalRange) -> Bool {
        start < other.end && other.start < end
    }

    public func contains(_ other: PhysicalRange) -> Bool {
        start <= other.start && other.end <= end
    }

    /// The pages wholly inside the range: start rounded up, end rounded down.
    public func shrunkToPages(_ pageSize: UInt64) -> PhysicalRange {
        let alignedStart =
            start > UInt64.max - (pageSize - 1)
            ? UInt64.max & ~(pageSize - 1)
            : (start + pageSize - 1) & ~(pageSize - 1)
        return PhysicalRange(start: alignedStart, end: max(alignedStart, end & ~(pageSize - 1)))
    }

    /// The pages the range touches: start rounded down, end rounded up.
    public func grownToPages(_ pageSize: UInt64) -> PhysicalRange {
        let alignedEnd =
            end > UInt64.max - (pageSize - 1)
            ? UInt64.max
            : (end + pageSize - 1) & ~(pageSize - 1)
        return PhysicalRange(start: start & ~(pageSize - 1), end: alignedEnd)
    }

    /// Sorts `ranges` by start in place. Insertion sort: a memory map has a handful of
    /// entries, the library sort costs kilobytes of code, and the page allocator sorts on the
    /// early heap, which must not grow.
    public static func sortByStart(_ ranges: inout [PhysicalRange]) {
        for index in ranges.indices.dropFirst() {
            var position = index
            let range = ranges[index]
            while position > 0 && ranges[position - 1].start > range.start {
                ranges[position] = ranges[position - 1]
                position -= 1
            }
            ranges[position] = range
        }
    }
}

extension LogText {
    /// `[first-last]`, 16 hexadecimal digits each, as memory maps print ranges.
    @inline(never)
    public mutating func appendInterpolation(_ range: PhysicalRange) {
        append(UInt8(ascii: "["))
        appendHex(range.start, digits: 16)
        append(UInt8(ascii: "-"))
        appendHex(range.end &- 1, digits: 16)
        append(UInt8(ascii: "]"))
    }
}
