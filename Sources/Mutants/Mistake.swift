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
        }
    }
}
