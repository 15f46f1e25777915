import CountingProvider
import TeardownTestKit
import Testing

/// Teardown's whole suite against this package's provider: each case instance a test of its own, judged as
/// `teardown run` judges it; its pcap and result go to the kit's report directory.
let kit = ConformanceKit(name: "counting") { upcalls in CountingProvider(upcalls: upcalls) }

@Test(
    .enabled(if: ConformanceKit.captureDenied == nil, Comment(rawValue: ConformanceKit.captureDenied ?? "")),
    arguments: ConformanceKit.instanceIDs())
func conformsTo(_ id: String) {
    let result = kit.run(id)
    #expect(ConformanceKit.problem(in: result) == nil, "\(ConformanceKit.problem(in: result) ?? "")")
}

/// The suite is really there: a kit that found no cases would pass everything.
@Test func theSuiteIsLoaded() {
    #expect(ConformanceKit.instanceIDs().count > 100)
}
