import Foundation
import Harness
import Testing

@Suite(.serialized) struct ChildProcesses {
    @Test func runningManyChildrenLeavesNoDescriptorBehind() {
        // Warm up: Foundation opens a few descriptors of its own once.
        for _ in 0..<5 { _ = ChildProcess.run("/bin/echo", ["warm"], within: .seconds(10)) }
        let before = openDescriptorCount()
        for index in 0..<200 {
            let outcome = ChildProcess.run("/bin/sh", ["-c", "echo out \(index); echo err >&2"], within: .seconds(10))
            #expect(outcome.status == 0 && String(decoding: outcome.output, as: UTF8.self) == "out \(index)\n")
        }
        let after = openDescriptorCount()
        #expect(after <= before + 2, "open descriptors went from \(before) to \(after) over 200 children")
    }
}
