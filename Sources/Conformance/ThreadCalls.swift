import Harness
import ProviderInterface

// The calls left running on named threads: waited for, with a deadline, and judged when they return.
extension CaseRun {
    /// `wait: {pending: THREAD}`: the call is asleep in the kernel inside the provider.
    func waitPending(_ name: String, _ step: Step) throws {
        guard let thread = scene.threads[name] else { throw CaseAbort("line \(step.line): no call on thread '\(name)' to wait for") }
        do {
            try thread.call.waitUntilBlocked(within: Self.waitLimit)
        } catch {
            guard let outcome = thread.call.result(within: .zero) else { throw CaseAbort("line \(step.line): \(error)") }
            finding("\(thread.step.action.name) on thread \(name) returned \(outcome.summary) instead of staying pending", line: step.line)
            collect(name)
        }
    }

    /// `wait: {returned: THREAD}`: the call has returned, and is judged.
    func waitReturned(_ name: String, _ step: Step) throws {
        guard let thread = scene.threads[name] else { throw CaseAbort("line \(step.line): no call on thread '\(name)' to wait for") }
        // An unbounded call is waited for up to the watchdog (less once the verdict is decided: see `join`).
        guard let timing = thread.step.timing else { return try join(name, within: options.watchdog) }
        // A call expected back at once (or by a time) that is still pending later is a finding, not a stuck provider.
        let grace: Duration =
            switch timing {
            case .atOnce: tolerances.atOnce + .seconds(1)
            case .about(let target): target + tolerances.late + .seconds(1)
            case .within(let limit): limit + .seconds(1)
            }
        // Once the verdict is decided, a timed call is not waited for either: its lateness is a finding, not an error.
        let bound = evidenceBound(grace)
        if thread.call.result(within: bound) == nil {
            finding(
                "\(thread.step.action.name) on thread \(name) expected to return \(timing); "
                    + (bound == grace
                        ? "still pending \(Judge.format(grace)) later" : "still pending when the verdict was already decided"),
                line: step.line)
            overdue.insert(name)
            return
        }
        try join(name, within: options.watchdog)
    }

    /// Waits for a thread's call and judges it against its step.
    func join(_ name: String, within timeout: Duration) throws {
        guard let thread = scene.threads[name] else { return }
        // Once a MUST finding has decided the verdict, a call that has not returned is not waited out: the
        // failure may be what keeps it pending.
        let bound = verdictDecided ? min(timeout, Self.decidedJoinBound) : timeout
        guard thread.call.result(within: bound) != nil else {
            ladder.noteStuckCall(thread.step.action.callText(thread.step), thread: name, started: thread.call.startedAt)
            try neverReturned(thread.step, thread: name, waited: bound)
            throw CaseAbort(
                "provider did not return from \(thread.step.action.name) (thread \(name), line \(thread.step.line)) within \(timeout)")
        }
        collect(name)
    }

    func collect(_ name: String) {
        guard var thread = scene.threads[name], !thread.checked, let outcome = thread.call.result(within: .zero) else { return }
        thread.checked = true
        scene.threads[name] = thread
        // "At once" for a pending call counts from the last main-thread step before it returned: the one that ended it.
        let reference = mainStepStarts.last { $0 <= outcome.returnedAt } ?? outcome.startedAt
        absorb(outcome, of: thread.step, reference: reference)
    }
}
