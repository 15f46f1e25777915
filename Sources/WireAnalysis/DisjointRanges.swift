/// Sorted, disjoint byte ranges of one direction's data seen beyond a gap, kept in a treap so that
/// recording a segment costs O(log n) whatever the order the segments come in (a capture with a hundred
/// thousand gaps in one connection stays linear in its size). A value: a copy is made of the nodes before
/// a mutation when they are shared (copy on write), so it is as safe to send as an array.
struct DisjointRanges: @unchecked Sendable {
    private final class Node {
        var range: Range<Int64>
        let priority: UInt64
        var left: Node?
        var right: Node?

        init(_ range: Range<Int64>, priority: UInt64) {
            self.range = range
            self.priority = priority
        }
    }

    private final class Storage {
        var root: Node?
        init(_ root: Node?) { self.root = root }
    }

    /// nil while empty, so that an empty value costs no allocation.
    private var storage: Storage?
    /// The priorities: a fixed sequence, so that the shape, and the work, are the same on every run.
    private var generator: UInt64 = 0x9E37_79B9_7F4A_7C15

    private var root: Node? {
        get { storage?.root }
        set { storage!.root = newValue }
    }

    /// Copies the nodes when another value shares them, before this one changes them.
    private mutating func makeUnique() {
        // No binding of `storage` before the check: a binding is a reference of its own, and the check would fail.
        guard storage != nil else {
            storage = Storage(nil)
            return
        }
        guard !isKnownUniquelyReferenced(&storage) else { return }
        storage = Storage(Self.copy(storage!.root))
    }

    private static func copy(_ node: Node?) -> Node? {
        guard let node else { return nil }
        let copied = Node(node.range, priority: node.priority)
        copied.left = copy(node.left)
        copied.right = copy(node.right)
        return copied
    }

    var isEmpty: Bool { root == nil }

    /// The lowest range.
    var first: Range<Int64>? {
        var node = root
        while let left = node?.left { node = left }
        return node?.range
    }

    /// Adds `range`, merged with the ranges it overlaps or touches; returns how many of its bytes were there already.
    mutating func insert(_ range: Range<Int64>) -> Int64 {
        makeUnique()
        let (below, rest) = Self.split(root, range.lowerBound)
        var lower = below
        var merged = range
        var covered: Int64 = 0
        if let last = Self.last(lower), last.upperBound >= range.lowerBound {
            covered += Self.overlap(last, range)
            merged = min(last.lowerBound, merged.lowerBound)..<max(last.upperBound, merged.upperBound)
            lower = Self.removeLast(lower)
        }
        let (touching, above) = Self.split(rest, range.upperBound + 1)
        Self.visit(touching) { other in
            covered += Self.overlap(other, range)
            merged = merged.lowerBound..<max(merged.upperBound, other.upperBound)
        }
        root = Self.merge(Self.merge(lower, Node(merged, priority: nextPriority())), above)
        return covered
    }

    /// Removes and returns the lowest range when it starts at or below `bound`.
    mutating func removeFirst(startingAtOrBelow bound: Int64) -> Range<Int64>? {
        guard let first, first.lowerBound <= bound else { return nil }
        makeUnique()
        root = Self.removeFirst(root)
        return first
    }

    private mutating func nextPriority() -> UInt64 {
        generator &+= 0x9E37_79B9_7F4A_7C15
        var z = generator
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func overlap(_ a: Range<Int64>, _ b: Range<Int64>) -> Int64 {
        max(0, min(a.upperBound, b.upperBound) - max(a.lowerBound, b.lowerBound))
    }

    /// (the nodes whose range starts below `key`, the others).
    private static func split(_ node: Node?, _ key: Int64) -> (Node?, Node?) {
        guard let node else { return (nil, nil) }
        if node.range.lowerBound < key {
            let (left, right) = split(node.right, key)
            node.right = left
            return (node, right)
        }
        let (left, right) = split(node.left, key)
        node.left = right
        return (left, node)
    }

    /// Every node of `a` lies below every node of `b`.
    private static func merge(_ a: Node?, _ b: Node?) -> Node? {
        guard let a else { return b }
        guard let b else { return a }
        if a.priority > b.priority {
            a.right = merge(a.right, b)
            return a
        }
        b.left = merge(a, b.left)
        return b
    }

    private static func last(_ node: Node?) -> Range<Int64>? {
        var node = node
        while let right = node?.right { node = right }
        return node?.range
    }

    private static func removeLast(_ node: Node?) -> Node? {
        guard let node else { return nil }
        guard node.right != nil else { return node.left }
        node.right = removeLast(node.right)
        return node
    }

    private static func removeFirst(_ node: Node?) -> Node? {
        guard let node else { return nil }
        guard node.left != nil else { return node.right }
        node.left = removeFirst(node.left)
        return node
    }

    private static func visit(_ node: Node?, _ body: (Range<Int64>) -> Void) {
        guard let node else { return }
        visit(node.left, body)
        body(node.range)
        visit(node.right, body)
    }
}
