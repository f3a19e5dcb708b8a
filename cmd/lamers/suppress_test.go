package main

import (
	"regexp"
	"testing"
)

func TestSuppressCommand(t *testing.T) {
	a := newTestApp(t, "")
	steps := []struct {
		cmd     suppressCommand
		args    []string
		stdout  string // a regular expression
		wantErr string
	}{
		{suppressCommand{}, []string{"J.Doe@Example.com"}, `^suppressed address: j\.doe@example\.com\n$`, ""},
		{suppressCommand{reason: "asked by phone"}, []string{"@example.net"}, `^suppressed domain: @example\.net\n$`, ""},
		{suppressCommand{}, []string{`WE\.ird.lab`}, `^suppressed zone: we\\\.ird\.lab\.\n$`, ""},
		{suppressCommand{}, []string{"j.doe@example.com"}, `^already suppressed: j\.doe@example\.com\n$`, ""},
		{suppressCommand{list: true}, nil, `^VALUE +KIND +SOURCE +SINCE +REASON\n` +
			`@example\.net +domain +manual +\d{4}-\d\d-\d\d \d\d:\d\d +asked by phone\n` +
			`j\.doe@example\.com +address +manual +\S+ \S+ +-\n` +
			`we\\\.ird\.lab\. +zone +manual +\S+ \S+ +-\n$`, ""},
		{suppressCommand{remove: true}, []string{"@EXAMPLE.net"}, `^no longer suppressed: @example\.net\n$`, ""},
		{suppressCommand{remove: true}, []string{"@example.net"}, `^$`, "suppress: @example.net is not suppressed"},
		{suppressCommand{}, []string{"x@localhost"}, `^$`, `suppress: notify: address "x@localhost": domain has fewer than two labels`},
		{suppressCommand{}, []string{"a", "b"}, `^$`, "suppress: want one ADDR, @DOMAIN or ZONE, got 2 arguments"},
		{suppressCommand{list: true}, []string{"a"}, `^$`, "suppress: --list takes no argument, --remove or --reason"},
		{suppressCommand{remove: true, reason: "x"}, []string{"a.example"}, `^$`, "suppress: --reason is for adding one"},
	}
	for _, s := range steps {
		a.out.Reset()
		err := a.runCmd(&s.cmd, s.args...)
		if errString(err) != s.wantErr {
			t.Errorf("%+v %v: error %q, want %q", s.cmd, s.args, errString(err), s.wantErr)
		}
		if !regexp.MustCompile(s.stdout).MatchString(a.out.String()) {
			t.Errorf("%+v %v: stdout %q does not match %q", s.cmd, s.args, a.out, s.stdout)
		}
	}
	b := newTestApp(t, "")
	if err := b.runCmd(&suppressCommand{list: true}); err != nil || b.out.String() != "no suppressions\n" {
		t.Errorf("an empty list: %q, %v", b.out, err)
	}
}
