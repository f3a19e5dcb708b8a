package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// check's own errors, before any packet is sent.
func TestCheckCommand(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "named.root")
	tests := []struct {
		cmd     checkCommand
		args    []string
		wantErr string
	}{
		{checkCommand{format: "text"}, nil, "check: want exactly one ZONE, got 0 arguments"},
		{checkCommand{format: "yaml"}, []string{"example.com"}, `check: --format: "yaml" is not one of text, json`},
		{checkCommand{format: "text", rf: resolverFlags{rootHints: missing}}, []string{"example.com"}, "root hints: open " + missing + ": no such file or directory"},
	}
	for _, tt := range tests {
		a := newTestApp(t, "")
		if got := errString(a.runCmd(&tt.cmd, tt.args...)); got != tt.wantErr {
			t.Errorf("check %q: error %q, want %q", tt.args, got, tt.wantErr)
		}
	}
}

// checkTree runs check on z000.test. of a private tree on loopback whose
// only zone is served by servers, and returns the exit code and stdout.
func checkTree(t *testing.T, net byte, servers []resolvertest.Behavior, format string, args ...string) (int, string) {
	t.Helper()
	tree, err := resolvertest.Start(resolvertest.Config{Net: net, Servers: servers, NSPerZone: len(servers)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	a := newTestApp(t, "")
	a.dnsPort = tree.Port
	a.cfg.Resolver.QPS = -1
	a.cfg.Resolver.Timeouts = []Duration{Duration(300 * time.Millisecond), Duration(300 * time.Millisecond)}
	a.cfg.Resolver.TCPTimeout = Duration(time.Second)
	c := &checkCommand{format: format, rf: resolverFlags{rootHints: tree.RootHints}}
	err = a.runCmd(c, append([]string{"z000.test"}, args...)...)
	return exitCode(err, a.errb), a.out.String()
}

// The zone line and the exit status: 0 ok, 1 lame or broken. A zone whose
// servers are all closed or silent is broken, not ok: nothing answers it.
func TestCheckZoneLine(t *testing.T) {
	auth, refused, closed, silent := resolvertest.Authoritative, resolvertest.Refused, resolvertest.Closed, resolvertest.Silent
	tests := []struct {
		servers []resolvertest.Behavior
		code    int
		line    string
	}{
		{[]resolvertest.Behavior{auth}, 0, "zone z000.test.: ok (1 server: 1 authoritative, 0 lame, 0 inconclusive)"},
		// Inconclusive servers are shown, and do not count.
		{[]resolvertest.Behavior{auth, silent}, 0, "zone z000.test.: ok (2 servers: 1 authoritative, 0 lame, 1 inconclusive)"},
		{[]resolvertest.Behavior{auth, refused}, 1, "zone z000.test.: lame (2 servers: 1 authoritative, 1 lame, 0 inconclusive)"},
		{[]resolvertest.Behavior{refused}, 1, "zone z000.test.: broken (1 server: 0 authoritative, 1 lame, 0 inconclusive)"},
		{[]resolvertest.Behavior{closed}, 1, "zone z000.test.: broken (1 server: 0 authoritative, 0 lame, 1 inconclusive)"},
		{[]resolvertest.Behavior{silent}, 1, "zone z000.test.: broken (1 server: 0 authoritative, 0 lame, 1 inconclusive)"},
		{[]resolvertest.Behavior{closed, silent}, 1, "zone z000.test.: broken (2 servers: 0 authoritative, 0 lame, 2 inconclusive)"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(tt.servers), func(t *testing.T) {
			t.Parallel()
			code, out := checkTree(t, byte(70+i), tt.servers, "text")
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			// zone, header, one line per server, the zone line
			if len(lines) != 3+len(tt.servers) || lines[len(lines)-1] != tt.line || code != tt.code {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %d lines ending in %q", code, out, tt.code, 3+len(tt.servers), tt.line)
			}
		})
	}
}

// check --format json: the object's fields, the zone's verdict among them,
// and each server's.
func TestCheckJSON(t *testing.T) {
	code, out := checkTree(t, 78, []resolvertest.Behavior{resolvertest.Closed}, "json")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	keys := slices.Sorted(maps.Keys(got))
	if want := []string{"delegation", "parent", "servers", "verdict", "zone"}; !slices.Equal(keys, want) || got["verdict"] != "broken" || code != 1 {
		t.Errorf("exit %d, fields %q verdict %v; want 1, %q and broken\n%s", code, keys, got["verdict"], want, out)
	}
	servers, _ := got["servers"].([]any)
	if len(servers) != 1 {
		t.Fatalf("servers %v", got["servers"])
	}
	s := servers[0].(map[string]any)
	keys = slices.Sorted(maps.Keys(s))
	if want := []string{"address", "flags", "name", "reason", "rtt_ms", "verdict"}; !slices.Equal(keys, want) || s["reason"] != "no_dns_service" {
		t.Errorf("server fields %q reason %v, want %q and no_dns_service", keys, s["reason"], want)
	}
}
