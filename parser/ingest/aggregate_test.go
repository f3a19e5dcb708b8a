package ingest

import "testing"

func TestBucket(t *testing.T) {
	tests := []struct{ qname, qtype, want string }{
		// BIND 9.18 lab bind9.log: 'www.refused.lab/A/IN', 'refused.lab/SOA/IN', 'ns1.refused.lab/AAAA/IN'
		{"www.refused.lab.", "A", "refused.lab."},
		{"refused.lab.", "SOA", "refused.lab."},
		{"refused.lab.", "NS", "refused.lab."},
		{"ns1.refused.lab.", "AAAA", "refused.lab."},
		// 'sp\032ace.refused.lab/A/IN': the escaped space is not a label boundary
		{`sp\032ace.refused.lab.`, "A", "refused.lab."},
		{`we\.ird.lab.`, "A", "lab."},
		{`a.we\.ird.lab.`, "A", `we\.ird.lab.`},
		// A DS record is served by the parent.
		{"child.example.", "DS", "example."},
		// 9.3 development lines carry no type.
		{"www.example.", "", "example."},
		{"lab.", "A", "lab."},
		{".", "NS", "."},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := Bucket(tt.qname, tt.qtype); got != tt.want {
			t.Errorf("Bucket(%q, %q) = %q, want %q", tt.qname, tt.qtype, got, tt.want)
		}
	}
}
