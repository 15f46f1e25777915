/// One realistic mistake a provider makes in closing sockets. A mutant is the reference provider with exactly one
/// of them; `teardown power` runs the suite against each to show that some case catches it.
public enum Mistake: String, CaseIterable, Sendable {
    case wakesWithShutdown = "wakes-with-shutdown"
    case alwaysGraceful = "always-graceful"
    case alwaysAbortive = "always-abortive"
    case doesNotAbortPending = "does-not-abort-pending"
    case closesOnFirstDuplicate = "closes-on-first-duplicate"
    case releasesTwice = "releases-twice"
    case neverReleases = "never-releases"
    case acceptsStaleHandle = "accepts-stale-handle"
    case kernelLinger = "kernel-linger"
    case blocksNonblockingLingerClose = "blocks-nonblocking-linger-close"
    case drainsUnreadData = "drains-unread-data"
    case completesAbortedTwice = "completes-aborted-twice"
    case completesAbortedWithSuccess = "completes-aborted-with-success"
    case duplicateResetsLinger = "duplicate-resets-linger"
    case resetsAtAnyAbortiveClose = "resets-at-any-abortive-close"
    case lingerPerHandle = "linger-per-handle"
    case countsTwoReferences = "counts-two-references"
    case discardsUnreadAfterPeerFinished = "discards-unread-after-peer-finished"
    case nonblockingUnreadWouldBlock = "nonblocking-unread-would-block"
    case nonblockingAbortiveWouldBlock = "nonblocking-abortive-would-block"
    case failedCloseForgetsHandle = "failed-close-forgets-handle"
    case lingerInMilliseconds = "linger-in-milliseconds"
    case dontLingerForgetsTimeout = "dont-linger-forgets-timeout"
    case wokenReceiveReturnsEndOfStream = "woken-receive-returns-end-of-stream"
    case cleanupClosesGracefully = "cleanup-closes-gracefully"
    case wouldBlockSticks = "would-block-sticks"
    case retriedCloseKeepsFirstLinger = "retried-close-keeps-first-linger"
    case closesAcceptedWithListener = "closes-accepted-with-listener"
    case duplicateReturnsSameHandle = "duplicate-returns-same-handle"
    case lastCloseUsesLingerOfFirst = "last-close-uses-linger-of-first"

    /// What the provider does wrong.
    public var summary: String {
        switch self {
        case .wakesWithShutdown: "close wakes blocked threads with shutdown(2), which sends a FIN"
        case .alwaysGraceful: "ignores linger: every close is graceful"
        case .alwaysAbortive: "ignores linger: every close is abortive"
        case .doesNotAbortPending: "close does not wake the calls pending on the handle; they end when data comes"
        case .closesOnFirstDuplicate: "tears the connection down on the first close of a duplicated handle"
        case .releasesTwice: "releases each closed handle twice"
        case .neverReleases: "never releases a closed handle"
        case .acceptsStaleHandle: "a closed handle reaches the newest socket, as a reused descriptor number would"
        case .kernelLinger: "leaves a linger timeout to the kernel: close blocks, then the data goes on with a FIN, no reset"
        case .blocksNonblockingLingerClose: "a nonblocking close with a linger timeout blocks instead of failing with wouldBlock"
        case .drainsUnreadData: "reads and discards unread data before closing, so the close is graceful instead of a reset"
        case .completesAbortedTwice: "completes each aborted asynchronous operation twice"
        case .completesAbortedWithSuccess: "completes aborted asynchronous operations with success instead of operationAborted"
        case .duplicateResetsLinger:
            "a duplicate starts with linger off, and the shared socket with it: a linger set before duplicating is lost"
        case .resetsAtAnyAbortiveClose: "applies linger 0 at every close: the connection is reset while another handle still names it"
        case .lingerPerHandle:
            "keeps linger per handle (a copy starts with the original's): the last close applies its own handle's setting"
        case .countsTwoReferences:
            "records that a socket is shared, not how many times: the second close tears it down while a third handle names it"
        case .discardsUnreadAfterPeerFinished:
            "once the peer has sent its FIN, discards unread data at close and ends gracefully instead of resetting"
        case .nonblockingUnreadWouldBlock:
            "a nonblocking close with a linger timeout fails with wouldBlock while data is queued, even with unread data that must reset"
        case .nonblockingAbortiveWouldBlock:
            "a nonblocking close with linger on fails with wouldBlock while data is queued, even with timeout 0 (abortive)"
        case .failedCloseForgetsHandle: "a close that fails with wouldBlock forgets the handle: it stays open but every later call fails"
        case .lingerInMilliseconds: "reads the linger timeout as milliseconds: a close that should wait up to t resets almost at once"
        case .dontLingerForgetsTimeout: "SO_DONTLINGER clears the linger timeout instead of keeping it"
        case .wokenReceiveReturnsEndOfStream:
            "a blocking receive woken by a close returns 0 (end-of-stream) instead of failing with interrupted"
        case .cleanupClosesGracefully: "cleanup closes the handles still open as they are (gracefully), not abortively"
        case .wouldBlockSticks:
            "once a nonblocking close has failed with wouldBlock, every retry fails the same way until the linger option changes, drained or not"
        case .retriedCloseKeepsFirstLinger:
            "a close retried after wouldBlock applies the linger option of the first attempt: turning linger off or to 0 in between is ignored"
        case .closesAcceptedWithListener: "closing a listener also closes the connections accepted from it"
        case .duplicateReturnsSameHandle:
            "duplicate counts a reference but returns the same handle value, so a closed copy still works through the other's value"
        case .lastCloseUsesLingerOfFirst:
            "the linger option is read at the first close of a shared socket: a change made through another handle afterwards is ignored"
        }
    }

    /// The statements the mistake breaks: a case checking one of them must catch it.
    public var breaks: [String] {
        switch self {
        case .wakesWithShutdown: ["PEND-6"]
        case .alwaysGraceful: ["LINGER-3"]
        case .alwaysAbortive: ["LINGER-2"]
        case .doesNotAbortPending: ["PEND-1", "PEND-2", "PEND-3", "PEND-4"]
        case .closesOnFirstDuplicate: ["SHARE-2", "SHARE-4"]
        case .releasesTwice: ["HANDLE-2"]
        case .neverReleases: ["HANDLE-1", "HANDLE-3"]
        case .acceptsStaleHandle: ["CLOSE-2", "CLOSE-3"]
        case .kernelLinger: ["LINGER-5"]
        case .blocksNonblockingLingerClose: ["LINGER-6"]
        case .drainsUnreadData: ["UNREAD-1"]
        case .completesAbortedTwice, .completesAbortedWithSuccess: ["PEND-5"]
        case .duplicateResetsLinger: ["SHARE-3", "SHARE-4"]
        case .resetsAtAnyAbortiveClose: ["SHARE-2", "SHARE-4"]
        case .lingerPerHandle: ["SHARE-3", "SHARE-4"]
        case .countsTwoReferences: ["SHARE-2", "SHARE-4", "HANDLE-1"]
        case .discardsUnreadAfterPeerFinished, .nonblockingUnreadWouldBlock: ["UNREAD-1"]
        case .nonblockingAbortiveWouldBlock: ["LINGER-3"]
        case .failedCloseForgetsHandle: ["LINGER-6", "HANDLE-3"]
        case .lingerInMilliseconds: ["LINGER-4"]
        case .dontLingerForgetsTimeout: ["LINGER-7"]
        case .wokenReceiveReturnsEndOfStream: ["PEND-1"]
        case .cleanupClosesGracefully: ["HANDLE-5"]
        case .wouldBlockSticks, .retriedCloseKeepsFirstLinger: ["LINGER-6"]
        case .closesAcceptedWithListener: ["LISTEN-2"]
        case .duplicateReturnsSameHandle: ["SHARE-1", "CLOSE-2"]
        case .lastCloseUsesLingerOfFirst: ["SHARE-4"]
        }
    }
}
