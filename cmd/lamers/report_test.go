package main

import (
	"testing"
)

func TestReportCommand(t *testing.T) {
	tests := []struct {
		cmd     reportCommand
		stdout  string // exact
		wantErr string // exact
	}{
		{reportCommand{format: "table"}, "no findings\n", ""},
		{reportCommand{format: "csv"}, "zone,qname,server,port,server_names,sources,observed,count,first_seen,last_seen,status,reason,rounds,last_probed\n", ""},
		{reportCommand{format: "json", zone: "UPREF.lab"}, "[]\n", ""},
		{reportCommand{format: "xml"}, "", `report: --format: "xml" is not one of table, json, csv`},
		{reportCommand{format: "table", since: "yesterday"}, "", `report: --since: "yesterday" is not a date, an RFC 3339 time or a duration`},
	}
	for _, tt := range tests {
		a := newTestApp(t, "")
		err := a.runCmd(&tt.cmd)
		if got := errString(err); got != tt.wantErr {
			t.Errorf("%+v: error %q, want %q", tt.cmd, got, tt.wantErr)
		}
		if a.out.String() != tt.stdout {
			t.Errorf("%+v: stdout %q, want %q", tt.cmd, a.out, tt.stdout)
		}
	}
}
