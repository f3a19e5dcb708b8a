// Package e2e holds the end-to-end suite of lamers: real NSD and BIND 9
// authoritative servers serving a private tree with every kind of broken
// delegation, real BIND 9 and Unbound resolvers querying it and writing their
// logs, the lamers binary reading those logs and verifying the findings —
// also as the "lamers run" daemon, with cron jobs beside it (run_test.go) —,
// and a real Postfix as the lab's mail exchanger (postfix_test.go), to which
// lamers notify sends and from which returned mail comes back to lamers
// bounce through an alias pipe (bounce_test.go).
//
// Everything runs as root inside a private network namespace (loopback
// only); no packet leaves it and nothing is left on the host. The suite is
// in the _test.go files: run it with "make e2e" or
//
//	go test ./e2e/ -v -count=1
//
// Outside CI (CI unset or not "true") it skips, naming the install command,
// when it is not root or a tool is missing; under CI=true it fails instead.
// e2e/deps.sh installs the tools without starting their services.
//
// LAMERS_E2E_KEEP=1 keeps the work directory (configurations, daemon and
// resolver logs, databases) and prints its path; LAMERS_E2E_BINARY=PATH
// tests that lamers binary instead of building ./cmd/lamers. The golden
// report is testdata/golden/e2e/report.json at the module root; -update
// rewrites it.
//
// The resolvers' logging settings live in testdata/named-logging.conf and
// testdata/unbound-logging.conf, included verbatim by the configurations the
// suite writes; the README quotes them.
package e2e
