// The table of every VMCS field the SDM defines, with the SDM's name for it (SDM Appendix B),
// and name lookup for any encoding. Full encodings only, ascending: the high half of a 64-bit
// field is the full encoding with bit 0 set. Each field is declared once, in
// VMCSField+Encodings.swift, its doc comment giving the SDM's name; the table itself (`all`,
// VMCSField+Generated.swift) is written from those declarations by tools/gen-declarations.

extension VMCSField {
    /// One defined field and its name as the SDM's tables print it.
    public struct Definition: Sendable {
        public let field: VMCSField
        public let name: String
        public init(_ field: VMCSField, _ name: String) {
            self.field = field
            self.name = name
        }
    }
}

extension VMCSField {
    /// The definition of this encoding's field (the full one for a high access), or nil when
    /// the SDM defines no such field or the encoding is malformed. Binary search: `all` is
    /// sorted.
    public var definition: Definition? {
        guard isWellFormed else { return nil }
        let key = full.rawValue
        var low = 0
        var high = Self.all.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = Self.all[middle].field.rawValue
            if candidate == key { return Self.all[middle] }
            if candidate < key { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// Whether the SDM defines this encoding: a defined field, or the high half of a defined
    /// 64-bit field.
    public var isDefined: Bool { definition != nil }

    /// The SDM's name of the field, with " (high)" for the high half of a 64-bit field; nil
    /// when the encoding names no defined field.
    public var name: String? {
        guard let definition else { return nil }
        return isHigh ? definition.name + " (high)" : definition.name
    }
}
