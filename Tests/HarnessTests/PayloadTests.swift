import Harness
import Testing

@Suite struct PayloadPattern {
    /// The pattern by its definition, byte by byte.
    func expected(_ count: Int, seed: UInt8, offset: Int) -> [UInt8] {
        (0..<count).map { index in
            let position = offset + index
            return UInt8(truncatingIfNeeded: position &* 7 &+ position / 251 &+ Int(seed))
        }
    }

    @Test("The payload is its definition at any offset and length, across the 64,256-byte period, for any seed")
    func bytesFollowTheDefinition() {
        for (count, seed, offset) in [(0, 0, 0), (1000, 0, 0), (200_000, 0x5A, 64_255), (70_000, 0x33, 64_256), (5, 7, 1_000_003)] {
            let seed = UInt8(seed)
            #expect(Payload.bytes(count, seed: seed, offset: offset) == expected(count, seed: seed, offset: offset))
        }
    }

    @Test("matches says yes to the pattern's own bytes and no to one byte changed, anywhere")
    func matchesFindsAChangedByte() {
        var bytes = expected(150_000, seed: 0, offset: 100)
        #expect(Payload.matches(bytes, offset: 100))
        #expect(!Payload.matches(bytes, offset: 101))
        bytes[129_999] &+= 1
        #expect(!Payload.matches(bytes, offset: 100))
        #expect(Payload.matches([], offset: 5))
    }
}
