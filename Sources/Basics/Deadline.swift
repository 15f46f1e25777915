public import Foundation

/// A point in time that waits are bounded by.
public struct Deadline: Sendable {
    public let instant: ContinuousClock.Instant

    public init(after duration: Duration) { instant = .now + duration }

    public var hasPassed: Bool { ContinuousClock.now >= instant }

    /// What is left, at least zero.
    public var remaining: Duration { max(.zero, instant - .now) }

    /// What is left, in milliseconds for poll(2): at least 0, rounded up.
    public var remainingMilliseconds: Int32 {
        let left = remaining
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    /// The same point on the wall clock, for `NSCondition.wait(until:)`.
    public var date: Date { Date.now.addingTimeInterval(remaining.seconds) }
}

extension NSCondition {
    /// The one "wait on a condition until a deadline" loop: with the lock held, sleeps until `done()` holds or
    /// the deadline passes, and returns whether `done()` holds. Every signal of the condition looks again.
    public func wait(until deadline: Deadline, for done: () -> Bool) -> Bool {
        let date = deadline.date
        while !done() {
            if !wait(until: date) { return done() }
        }
        return true
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
