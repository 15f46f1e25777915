import Foundation
import PacketCapture
import TestSupport
import Testing
import WireAnalysis

/// Set to a directory to write the scenarios' recordings there instead of a temporary one (`make fixtures`).
let recordingDirectory = ProcessInfo.processInfo.environment["TEARDOWN_RECORD_FIXTURES"]

@Suite struct Fixtures {
    @Test("A committed fixture shows its scenario's facts", arguments: scenarios)
    func committed(_ scenario: Scenario) throws {
        let path = scenario.fixture.path
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("\(path) is missing: record it with make fixtures")
            return
        }
        let facts = try CaptureFile.analyze(path: path)
        #expect(facts.truncated == nil)
        #expect(facts.skipped == [])
        #expect(facts.linkType == "EN10MB")
        scenario.check(facts, nil)
    }

    @Test(
        "A scenario recorded live shows its facts, and its pcap file reads back the same",
        .enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? "")),
        arguments: scenarios)
    func live(_ scenario: Scenario) throws {
        try withTemporaryDirectory { directory in
            let path =
                recordingDirectory.map { "\($0)/\(scenario.name).pcap" } ?? directory.appendingPathComponent("\(scenario.name).pcap").path
            let (facts, observed) = try scenario.record(to: path)
            scenario.check(facts, observed)
            #expect(try CaptureFile.analyze(path: path) == facts)
        }
    }

    @Test("The same packets in every link-layer framing give the same facts", arguments: LinkType.allCases)
    func framing(_ linkType: LinkType) throws {
        try withTemporaryDirectory { directory in
            for scenario in scenarios where FileManager.default.fileExists(atPath: scenario.fixture.path) {
                let original = try CaptureFile.analyze(path: scenario.fixture.path)
                let path = directory.appendingPathComponent("\(scenario.name)-\(linkType).pcap").path
                try reframe(scenario.fixture.path, as: linkType, to: path)
                var facts = try CaptureFile.analyze(path: path)
                if scenario.family == .ipv6 && linkType == .ipv4 || scenario.family == .ipv4 && linkType == .ipv6 {
                    // DLT_IPV4 and DLT_IPV6 hold only their own version: every frame is dropped by the reframing.
                    #expect(facts.connections.isEmpty)
                    continue
                }
                #expect(facts.linkType == linkType.description)
                facts.linkType = original.linkType
                #expect(facts == original, "\(scenario.name) as \(linkType)")
            }
        }
    }
}

/// Rewrites an Ethernet capture with another link-layer header, through libpcap's dumper.
func reframe(_ source: String, as linkType: LinkType, to path: String) throws {
    let writer = try CaptureWriter(path: path, linkType: linkType)
    _ = try CaptureFile.read(path: source) { _ in
    } frame: { frame, wireLength, time in
        let etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
        let isIPv6 = etherType == 0x86DD
        let packet = UnsafeRawBufferPointer(rebasing: frame[14...])
        var header: [UInt8]
        switch linkType {
        case .ethernet: header = Array(frame[..<14])
        case .null: header = withUnsafeBytes(of: UInt32(isIPv6 ? 10 : 2).littleEndian, Array.init)
        case .loop: header = withUnsafeBytes(of: UInt32(isIPv6 ? 24 : 2).bigEndian, Array.init)
        case .raw: header = []
        case .ipv4, .ipv6:
            guard (linkType == .ipv6) == isIPv6 else { return }
            header = []
        case .linuxSLL:
            // Packet type, ARPHRD_LOOPBACK, address length and address, protocol.
            header = [0, 0, 0x03, 0x04, 0, 6] + [UInt8](repeating: 0, count: 8) + [UInt8(etherType >> 8), UInt8(etherType & 0xFF)]
        case .linuxSLL2:
            // Protocol, reserved, interface index, ARPHRD_LOOPBACK, packet type, address length and address.
            header = [UInt8(etherType >> 8), UInt8(etherType & 0xFF), 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6] + [UInt8](repeating: 0, count: 8)
        }
        let bytes = header + Array(packet)
        bytes.withUnsafeBytes { writer.write($0, wireLength: wireLength - 14 + header.count, time: time) }
    }
    try writer.close()
}
