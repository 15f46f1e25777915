import Basics
import Harness
import Testing

@testable import WireAnalysis

/// The array-based bookkeeping the analyzer used before its treap, kept as the reference the new one must
/// agree with, segment by segment.
struct ReferenceGaps {
    var nextInOrder: Int64 = 1
    var beyondGap: [Range<Int64>] = []

    mutating func record(_ start: Int64, _ end: Int64) -> Int64 {
        var before = max(0, min(end, nextInOrder) - start)
        for range in beyondGap where range.upperBound > start && range.lowerBound < end {
            before += min(end, range.upperBound) - max(start, range.lowerBound, nextInOrder)
        }
        before = max(0, before)
        if start <= nextInOrder {
            nextInOrder = max(nextInOrder, end)
            while let first = beyondGap.first, first.lowerBound <= nextInOrder {
                nextInOrder = max(nextInOrder, first.upperBound)
                beyondGap.removeFirst()
            }
        } else {
            var merged = start..<end
            var kept: [Range<Int64>] = []
            for range in beyondGap {
                if range.upperBound < merged.lowerBound || range.lowerBound > merged.upperBound {
                    kept.append(range)
                } else {
                    merged = min(range.lowerBound, merged.lowerBound)..<max(range.upperBound, merged.upperBound)
                }
            }
            kept.insert(merged, at: kept.firstIndex { $0.lowerBound > merged.lowerBound } ?? kept.endIndex)
            beyondGap = kept
        }
        return (end - start) - before
    }
}

@Suite struct Gaps {
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8]) func theTreapAgreesWithTheArrayOnRandomSegments(_ seed: UInt64) {
        var random = SplitMix(seed: seed)
        let endpoint = Endpoint(family: .ipv4, low: 1, port: 1)
        var state = DirectionState(from: endpoint, to: endpoint)
        var reference = ReferenceGaps()
        for _ in 0..<3000 {
            let start = Int64(random.next() % 5000) + 1
            let length = Int64(random.next() % 200) + 1
            let fresh = state.record(start, start + length)
            let expected = reference.record(start, start + length)
            #expect(fresh == expected, "segment \(start)..<\(start + length)")
            #expect(state.nextInOrder == reference.nextInOrder)
            if fresh != expected || state.nextInOrder != reference.nextInOrder { return }
        }
    }

    @Test func aCopyIsAValue() {
        var ranges = DisjointRanges()
        _ = ranges.insert(10..<20)
        let copy = ranges
        _ = ranges.insert(30..<40)
        _ = ranges.removeFirst(startingAtOrBelow: 100)
        #expect(copy.first == 10..<20)
        #expect(ranges.first == 30..<40)
    }
}
