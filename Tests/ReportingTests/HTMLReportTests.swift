import Conformance
import Foundation
import Reporting
import TestSupport
import Testing
import WireAnalysis

/// Chromium, headless, to check the report in a real browser (make deps installs it).
let chromiumMissing: String? = tool("chromium") == nil ? "chromium is not installed (make deps installs it)" : nil

@Suite struct HTMLReports {
    func report() -> RunReport {
        var failed = result(
            "pend.receive[role=client]", .fail, messages: ["line 23: receive expected interrupted; got <nothing> after 1.2 s"])
        failed.ladder = Ladder(
            left: "subject (posix)", right: "peer (harness)",
            events: [
                LadderEvent(time: 0, lane: .toRight, kind: .handshake, text: "SYN"),
                // A call that never returned has no end.
                LadderEvent(time: 0.001, lane: .left, kind: .call, text: "receive on s", result: "did not return", thread: "reader"),
                LadderEvent(time: 0.002, lane: .left, kind: .fault, text: "#1 delayOnEntry on receive(s)"),
                LadderEvent(time: 0.003, lane: .toRight, kind: .fin, text: "FIN seq 1"),
                LadderEvent(time: 0.004, lane: .right, kind: .fin, text: "peer: end of stream"),
            ])
        return RunReport(
            provider: "posix", seed: 7, started: "now", seconds: 1, repeatCount: 1, shard: nil, captureDirectory: "/tmp/runs/x",
            results: [result("linger.off", .pass), failed], deviations: [], unstable: [])
    }

    @Test("The report is one file with the failures first, expected against actual, a ladder per case, and no outside references")
    func structure() {
        let statements = [Statement(id: "PEND-1", level: .must, text: "A blocking receive <pending> fails with interrupted.")]
        let html = HTMLReport.render(report(), statements: statements, location: "/tmp/runs/x/report.html")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("is <span class=\"v-fail\">NOT conformant</span>"))
        // Failures first and open; passes folded.
        let failing = html.range(of: "id=\"case-pend.receive_role_client_\"><details open>")
        let passing = html.range(of: "id=\"case-linger.off\"><details>")
        #expect(failing != nil && passing != nil && failing!.lowerBound < passing!.lowerBound)
        #expect(html.contains("<td>line 23: receive expected interrupted</td><td class=\"actual\">got &lt;nothing&gt; after 1.2 s</td>"))
        #expect(html.contains("A blocking receive &lt;pending&gt; fails"))
        // Every event is drawn: arrows for segments, the fault marked, the call that did not return in the error colour.
        #expect(html.components(separatedBy: "class=\"seg seg-").count - 1 == 2)
        #expect(html.contains("class=\"fault-mark\""))
        #expect(html.contains("class=\"t-stuck\""))
        #expect(html.components(separatedBy: "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\"").count - 1 == 1)
        // The pcap link is relative to the report.
        #expect(
            html.contains("href=\"../../../captures/x.pcap\"") || html.contains("href=\"x.pcap\"") || html.contains("captures/x.pcap\""))
        for outside in ["<script", "src=", "href=\"http", "@import", "url(http"] { #expect(!html.contains(outside), "\(outside)") }
    }

    @Test("Links to a pcap are relative to the report's directory")
    func relativeLinks() throws {
        try withTemporaryDirectory { directory in
            let html = HTMLReport.render(report(), statements: [], location: directory.appendingPathComponent("r/report.html").path)
            let pcap = URL(fileURLWithPath: "captures/x.pcap").standardizedFileURL.path
            let expected = directory.appendingPathComponent("r").standardizedFileURL.pathComponents
            let target = URL(fileURLWithPath: pcap).pathComponents
            var common = 0
            while common < min(expected.count, target.count) && expected[common] == target[common] { common += 1 }
            let link = (Array(repeating: "..", count: expected.count - common) + target[common...]).joined(separator: "/")
            #expect(html.contains("href=\"\(link)\""), "\(link)")
        }
    }

    @Test(
        "A run against posix writes a report that headless Chromium renders with the failing cases' ladders",
        .enabled(if: chromiumMissing == nil, Comment(rawValue: chromiumMissing ?? "")))
    func rendersInChromium() throws {
        try withTemporaryDirectory { directory in
            let html = directory.appendingPathComponent("report.html").path
            let run = try runProgram(
                teardownBinary,
                [
                    "run", "--suite", repositoryRoot.appendingPathComponent("conformance").path, "--provider", "posix",
                    "--cases", "pend.accept[family=ipv4]", "--cases",
                    "linger.abortive[payload=64KiB,blocking=true,role=client,family=ipv4]",
                    "--report-dir", directory.appendingPathComponent("run").path, "--html", html,
                ], within: 120)
            #expect(run.status == 1, "posix fails pend.accept: \(run.output) \(run.errors)")
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("run/report.html").path))
            let browser = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(directory.path)/profile"]
            let dom = try runProgram(tool("chromium")!, browser + ["--dump-dom", "file://\(html)"], within: 120)
            #expect(dom.status == 0, "\(dom.errors)")
            // The browser parsed both ladders, with the failing case's pending accept and the abortive RST in them.
            #expect(dom.output.components(separatedBy: "class=\"ladder\"").count - 1 == 2)
            #expect(dom.output.contains("accept on l [acceptor]"))
            #expect(dom.output.contains("RST seq 65537"))
            let shot = directory.appendingPathComponent("report.png").path
            let screenshot = try runProgram(
                tool("chromium")!, browser + ["--window-size=1400,2400", "--screenshot=\(shot)", "file://\(html)"], within: 120)
            #expect(screenshot.status == 0, "\(screenshot.errors)")
            let png = try Data(contentsOf: URL(fileURLWithPath: shot))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
            let height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width == 1400 && height == 2400)
            // A blank page compresses to a few kilobytes; a rendered report with two ladders is far larger.
            #expect(png.count > 60_000, "\(png.count) bytes")
            // Kept for a look: .build/test-report-posix.png.
            try? png.write(to: repositoryRoot.appendingPathComponent(".build/test-report-posix.png"))
        }
    }
}

@Suite struct ExplainLadders {
    @Test("explain --run draws the case as it ran: the close, then the subject's RST on the wire, then the peer's reset")
    func explainRunDrawsTheAbortiveClose() throws {
        let id = "linger.abortive[payload=64KiB,blocking=true,role=client,family=ipv4]"
        let run = try runProgram(
            teardownBinary, ["explain", id, "--run", "--suite", repositoryRoot.appendingPathComponent("conformance").path], within: 120)
        #expect(run.status == 0, "\(run.output) \(run.errors)")
        let lines = run.output.split(separator: "\n").map(String.init)
        let close = lines.firstIndex { $0.contains("close on s") }
        let reset = lines.firstIndex { $0.contains("RST seq 65537") && $0.hasSuffix(">") }
        let seen = lines.firstIndex { $0.hasSuffix("peer: connection reset") }
        #expect(close != nil && reset != nil && seen != nil, "\(run.output)")
        if let close, let reset, let seen { #expect(close < reset && reset < seen, "\(run.output)") }
        #expect(lines.contains { $0.contains("data 1:65537 (65536 bytes") && $0.hasSuffix(">") })
        #expect(!lines.contains { $0.contains("FIN seq") })
    }
}
