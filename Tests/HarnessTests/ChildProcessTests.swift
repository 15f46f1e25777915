import Basics
import Foundation
import Harness
import Testing

@Suite(.serialized) struct ChildProcesses {
    @Test func runningManyChildrenLeavesNoDescriptorBehind() {
        // Warm up: Foundation opens a few descriptors of its own once.
        for _ in 0..<5 { _ = ChildProcess.run("/bin/echo", ["warm"], within: .seconds(10)) }
        let before = CurrentProcess.openDescriptorCount()
        for index in 0..<400 {
            let outcome = ChildProcess.run("/bin/sh", ["-c", "echo out \(index); echo err >&2"], within: .seconds(10))
            #expect(outcome.status == 0 && String(decoding: outcome.output, as: UTF8.self) == "out \(index)\n")
        }
        let after = CurrentProcess.openDescriptorCount()
        // Other suites run beside this one and open descriptors of their own for a while, so the count moves by
        // some tens; a leak of the two pipe ends a child would add 800.
        #expect(after - before < 400, "open descriptors went from \(before) to \(after) over 400 children")
    }
}
