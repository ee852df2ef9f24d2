// Coverage of the VM-entry rules by the tests: every rule of `EntryRules.all` must be broken
// by at least one case. A rule no case breaks must be listed, with the reason, below.
import Testing
@testable import VMX

@Suite struct EntryCheckCoverageTests {
    static var allCases: [EntryCheckCase] {
        EntryCheckCase.controls + EntryCheckCase.hostState + EntryCheckCase.guestState + EntryCheckCase.msrLoading
    }

    /// Rules no test breaks, each with the reason. Empty: every rule is broken by a test.
    static let untested: [String: String] = [:]

    @Test func everyRuleIsBrokenByATest() {
        let broken = Set(Self.allCases.map(\.rule))
        let unbroken = EntryRules.all.map(\.identifier).filter { !broken.contains($0) }
        #expect(
            unbroken
                == Self.untested.keys.sorted { a, b in
                    EntryRules.all.firstIndex { $0.identifier == a }! < EntryRules.all.firstIndex {
                        $0.identifier == b
                    }!
                })
    }

    @Test func everyCaseNamesAKnownRule() {
        let known = Set(EntryRules.all.map(\.identifier))
        for testCase in Self.allCases {
            #expect(known.contains(testCase.rule), "\(testCase.rule)")
            for other in testCase.alsoFailing { #expect(known.contains(other), "\(other)") }
        }
    }

    @Test func everyRuleClassHasItsOutcome() {
        for testCase in Self.allCases {
            let rule = EntryRules.rule(testCase.rule)!
            switch (rule.ruleClass, testCase.outcome) {
            case (.controls, .vmfailValid(.entryWithInvalidControlFields)),
                (.hostState, .vmfailValid(.entryWithInvalidHostStateFields)),
                (.guestState, .entryFailure(.entryFailureGuestState, _)),
                (.msrLoading, .entryFailure(.entryFailureMSRLoading, _)):
                continue
            default:
                // Allowed only when an earlier rule of another class necessarily fails first.
                #expect(!testCase.alsoFailing.isEmpty, "\(testCase.testDescription)")
            }
        }
    }
}
