// Command lines and scenario files parsed as UTF-8 bytes. Splitting and comparing through
// String, Substring and their views makes Embedded Swift link the standard library's index
// translation (UTF-16 offsets, breadcrumbs, foreign-string paths) and specialize every generic
// algorithm per view type; byte slices compared with StaticString literals need only a few
// loops, each out of line so that every parser shares them. Every text here is ASCII.

/// A run of bytes of a larger text.
public typealias ByteText = ArraySlice<UInt8>

extension ArraySlice where Element == UInt8 {
    /// The UTF-8 bytes of `text`.
    public init(utf8 text: String) { self = Array(text.utf8)[...] }

    /// The pieces between bytes for which `isSeparator` holds, without empty pieces.
    @inline(never)
    public func words(separatedBy isSeparator: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") }) -> [ByteText] {
        var result: [ByteText] = []
        var start = startIndex
        while start < endIndex {
            while start < endIndex && isSeparator(self[start]) { start += 1 }
            var end = start
            while end < endIndex && !isSeparator(self[end]) { end += 1 }
            if end > start { result.append(self[start..<end]) }
            start = end
        }
        return result
    }

    /// The lines of the text (split at "\n"), empty ones included.
    public var lines: [ByteText] {
        @inline(never) get {
            var result: [ByteText] = []
            var start = startIndex
            for index in indices where self[index] == UInt8(ascii: "\n") {
                result.append(self[start..<index])
                start = index + 1
            }
            result.append(self[start..<endIndex])
            return result
        }
    }

    /// Whether the bytes are exactly `literal`.
    public func equals(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && hasPrefix(literal)
    }

    /// Whether the bytes start with `literal`.
    @inline(never)
    public func hasPrefix(_ literal: StaticString) -> Bool {
        guard count >= literal.utf8CodeUnitCount else { return false }
        for offset in 0..<literal.utf8CodeUnitCount where self[startIndex + offset] != literal.utf8Start[offset] {
            return false
        }
        return true
    }

    /// The bytes after `literal` when they start with it, else nil.
    public func dropping(prefix literal: StaticString) -> ByteText? {
        hasPrefix(literal) ? self[(startIndex + literal.utf8CodeUnitCount)...] : nil
    }

    /// The bytes as a String.
    @inline(never)
    public var text: String { String(decoding: self, as: UTF8.self) }
}
