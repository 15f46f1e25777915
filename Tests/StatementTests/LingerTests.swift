import Harness
import ProviderInterface
import Testing

extension Statements {
    @Suite("LINGER: the three kinds of close")
    struct LingerStatements {
        @Test("LINGER-1: a new socket does not linger", arguments: testedProviders)
        func newSocketDoesNotLinger(_ kind: ProviderKind) throws {
            try verify("LINGER-1", on: kind) { subject, findings in
                let handle = try subject.provider.socket(.ipv4)
                defer { subject.discard(handle) }
                let linger = findings.expectSuccess("get linger") { () throws(SocketError) in try subject.provider.linger(handle) }
                findings.expect(
                    linger?.isOn == false, "a new socket's linger reads \(linger.map(String.init(describing:)) ?? "nothing"); expected off")
                let accepted = try subject.connect(role: .server)
                defer { subject.discard(accepted.subject) }
                let acceptedLinger = try subject.provider.linger(accepted.subject)
                findings.expect(!acceptedLinger.isOn, "an accepted socket's linger reads \(acceptedLinger); expected off")
            }
        }

        @Test(
            "LINGER-2: graceful close returns at once; the peer reads every byte, then end-of-stream",
            arguments: testedProviders, [true, false])
        func gracefulClose(_ kind: ProviderKind, blocking: Bool) throws {
            try verify("LINGER-2", on: kind) { subject, findings in
                let connection = try smallWindowConnection(subject)
                let payload = try subject.fill(connection.subject)
                try subject.provider.setBlocking(connection.subject, blocking)
                findings.expectSuccessAtOnce("graceful close") { () throws(SocketError) in try subject.close(connection.subject) }
                findings.expectPeer(try connection.peer.read(), read: payload, ending: .endOfStream)
            }
        }

        @Test("LINGER-3: abortive close returns at once and resets; queued data is discarded", arguments: testedProviders)
        func abortiveClose(_ kind: ProviderKind) throws {
            try verify("LINGER-3", on: kind) { subject, findings in
                let connection = try smallWindowConnection(subject)
                let payload = try subject.fill(connection.subject)
                try subject.provider.setBlocking(connection.subject, true)
                try subject.provider.setLinger(connection.subject, .abortive)
                findings.expectSuccessAtOnce("abortive close") { () throws(SocketError) in try subject.close(connection.subject) }
                let observation = try connection.peer.read()
                findings.expectPeer(observation, read: payload, prefixOnly: true, ending: .reset)
                findings.expect(
                    observation.bytes.count < payload.count, "peer read all \(payload.count) queued bytes; expected them discarded")
            }
        }

        @Test("LINGER-4: a linger timeout waits until the data is delivered, then closes gracefully", arguments: testedProviders)
        func lingerDelivered(_ kind: ProviderKind) throws {
            try verify("LINGER-4", on: kind) { subject, findings in
                let connection = try smallWindowConnection(subject)
                let payload = try subject.fill(connection.subject)
                let provider = subject.provider
                let handle = connection.subject
                try provider.setBlocking(handle, true)
                try provider.setLinger(handle, .timeout(5))
                let close = background("close with linger 5 s") { () throws(SocketError) in try subject.close(handle) }
                try close.waitUntilBlocked()
                findings.expect(close.result(within: .zero) == nil, "close returned before the peer read anything")
                let readStart = ContinuousClock.now
                let observation = try connection.peer.read(within: .seconds(10))
                let readDone = ContinuousClock.now
                guard let outcome = close.result(within: .seconds(6)) else {
                    findings.add("close still pending 6 s after the peer read everything")
                    return
                }
                if case .failure(let error) = outcome { findings.add("close failed with \(error.name); expected success") }
                if let finished = close.finishedAt {
                    findings.expect(finished >= readStart, "close returned before the peer started reading")
                    findings.expect(
                        finished - readDone <= tolerances.atOnce, "close returned \(finished - readDone) after the data was delivered")
                }
                findings.expectPeer(observation, read: payload, ending: .endOfStream)
            }
        }

        @Test("LINGER-5: a linger timeout that expires returns after about t and resets", arguments: testedProviders)
        func lingerExpires(_ kind: ProviderKind) throws {
            try verify("LINGER-5", on: kind) { subject, findings in
                let connection = try smallWindowConnection(subject)
                let payload = try subject.fill(connection.subject)
                try subject.provider.setBlocking(connection.subject, true)
                try subject.provider.setLinger(connection.subject, .timeout(1))
                let (_, elapsed) = timed {
                    findings.expectSuccess("close with linger 1 s") { () throws(SocketError) in try subject.close(connection.subject) }
                }
                findings.expect(tolerances.isAbout(elapsed, .seconds(1)), "close took \(elapsed); expected about 1 s")
                findings.expectPeer(try connection.peer.read(), read: payload, prefixOnly: true, ending: .reset)
            }
        }

        @Test(
            "LINGER-6: a nonblocking close with a linger timeout fails with wouldBlock and changes nothing",
            arguments: testedProviders, LingerSixEnding.allCases)
        func nonblockingLinger(_ kind: ProviderKind, ending: LingerSixEnding) throws {
            try verify("LINGER-6", on: kind) { subject, findings in
                let connection = try smallWindowConnection(subject)
                let payload = try subject.fill(connection.subject)
                let provider = subject.provider
                let handle = connection.subject
                try provider.setLinger(handle, .timeout(1))
                let (first, elapsed) = timed { Result { () throws(SocketError) in try subject.close(handle) } }
                switch first {
                case .success:
                    findings.add("nonblocking close with linger 1 s returned success after \(elapsed); expected wouldBlock at once")
                    _ = try connection.peer.read()
                    return
                case .failure(let error):
                    findings.expect(
                        error == .wouldBlock, "nonblocking close with linger 1 s failed with \(error.name); expected wouldBlock")
                }
                findings.expect(elapsed <= tolerances.atOnce, "the failed close took \(elapsed); expected at once")
                findings.expect(connection.peer.isEstablished, "the failed close put FIN or RST on the wire")
                findings.expectSuccess("get linger after the failed close") { () throws(SocketError) in try provider.linger(handle) }

                switch ending {
                case .lingerOff:
                    try provider.setLinger(handle, .off)
                    findings.expectSuccess("close after turning linger off") { () throws(SocketError) in try subject.close(handle) }
                    findings.expectPeer(try connection.peer.read(), read: payload, ending: .endOfStream)
                case .abortive:
                    try provider.setLinger(handle, .abortive)
                    findings.expectSuccess("close after setting timeout 0") { () throws(SocketError) in try subject.close(handle) }
                    findings.expectPeer(try connection.peer.read(), read: payload, prefixOnly: true, ending: .reset)
                case .drained:
                    // Queued data keeps flowing: the peer reads all of it while the handle stays open.
                    let observation = try connection.peer.read(limit: payload.count)
                    findings.expectPeer(observation, read: payload, ending: .open)
                    var closed = false
                    try waitUntil("a close succeeding once the data drained", within: .seconds(2)) {
                        do throws(SocketError) {
                            try subject.close(handle)
                            closed = true
                        } catch {
                            if error != .wouldBlock { findings.add("close after the data drained failed with \(error.name)") }
                            return error != .wouldBlock
                        }
                        return true
                    }
                    findings.expect(closed, "close did not succeed after the data drained")
                    findings.expectPeer(try connection.peer.read(), read: [], ending: .endOfStream)
                }
            }
        }

        @Test("LINGER-7: turning linger off keeps the timeout", arguments: testedProviders)
        func offKeepsTimeout(_ kind: ProviderKind) throws {
            try verify("LINGER-7", on: kind) { subject, findings in
                let handle = try subject.provider.socket(.ipv4)
                defer { subject.discard(handle) }
                try subject.provider.setLinger(handle, .timeout(5))
                try subject.provider.setOption(handle, .dontLinger, to: .flag(true))
                let off = try subject.provider.linger(handle)
                findings.expect(
                    off == Linger(isOn: false, seconds: 5), "after dontLinger on, linger reads \(off); expected off with 5 s kept")
                try subject.provider.setOption(handle, .dontLinger, to: .flag(false))
                let on = try subject.provider.linger(handle)
                findings.expect(on == .timeout(5), "after dontLinger off, linger reads \(on); expected on, 5 s")
            }
        }

        @Test("LINGER-8: a linger value out of range fails and leaves the setting", arguments: testedProviders)
        func outOfRange(_ kind: ProviderKind) throws {
            try verify("LINGER-8", on: kind) { subject, findings in
                let handle = try subject.provider.socket(.ipv4)
                defer { subject.discard(handle) }
                try subject.provider.setLinger(handle, .timeout(5))
                for seconds in [-1, 65536, Int(Int32.max) + 1] {
                    findings.expectFailure(.invalidArgument, "set linger \(seconds) s") { () throws(SocketError) in
                        try subject.provider.setLinger(handle, .timeout(seconds))
                    }
                }
                let linger = try subject.provider.linger(handle)
                findings.expect(linger == .timeout(5), "after the rejected values, linger reads \(linger); expected on, 5 s")
            }
        }
    }
}

/// How the nonblocking close of LINGER-6 is finally allowed to succeed.
enum LingerSixEnding: String, CaseIterable, Sendable, CustomStringConvertible {
    case lingerOff = "linger turned off"
    case abortive = "timeout set to 0"
    case drained = "data drained"

    var description: String { rawValue }
}
