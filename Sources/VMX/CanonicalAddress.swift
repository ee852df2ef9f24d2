// Canonical addresses (SDM Vol. 1 3.3.7.1): in a linear-address space of `width` bits, bits
// 63 down to width - 1 are all equal.

/// Whether `address` is canonical for a linear-address width of `width` bits (48 for 4-level
/// paging, 57 for 5-level).
public func isCanonical(_ address: UInt64, width: Int) -> Bool {
    let shift = UInt64(64 - width)
    return UInt64(bitPattern: Int64(bitPattern: address << shift) >> Int64(shift)) == address
}
