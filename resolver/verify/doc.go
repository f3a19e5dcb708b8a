// Package verify is lamers' verify workflow: it gives zone-less findings
// their zone, probes the findings that are due with package resolver,
// records each round and applies the confirmation policy that turns rounds
// into a finding's status (docs/verification.md, sections 1 and 4). An
// authoritative round's SOA is recorded with the round, for the RNAME that
// notify mails (docs/notify.md, section 2); Recheck re-probes the findings
// notify is about to mail when their verdict has grown old, with the same
// politeness (section 1).
//
// It is apart from package resolver, as coredns keeps plugin/pkg/proxy apart
// from plugin/forward, so that the resolver links no database: verify needs
// the store (through its small Store interface), the resolver does not.
//
// Where it departs from the registries' lameness checks (RIPE NCC, APNIC,
// AFRINIC), which probe from several places over days: one vantage point,
// and by default two lame rounds half an hour apart confirm a finding; silence
// alone only ever makes a finding unresponsive, after a day.
package verify
