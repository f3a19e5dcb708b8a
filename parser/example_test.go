package parser_test

import (
	"fmt"
	"time"

	"github.com/lamers-dev/lamers/parser"
)

func ExampleParser_Parse() {
	p := parser.New(parser.Options{
		Location:  time.UTC,
		Reference: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC),
	})
	var obs []parser.Observation
	for _, line := range []string{
		// BIND 9.18
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.we\.ird.lab' (in 'we\.ird.lab'?): 127.53.4.1#53`,
		`22-Nov-2026 02:01:50.268 lame-servers: info: REFUSED unexpected RCODE resolving 'www.refused.lab/A/IN': 127.53.3.1#53`,
		// Unbound 1.17 through syslog: three lines, one observation
		`Nov 22 02:01:53 dnslab unbound: [19033:0] info: response for www.upref.lab. A IN`,
		`Nov 22 02:01:53 dnslab unbound: [19033:0] info: reply from <upref.lab.> 127.53.4.1#53`,
		`Nov 22 02:01:53 dnslab unbound: [19033:0] info: query response was LAME`,
	} {
		obs, _ = p.Parse([]byte(line), obs)
	}
	for _, o := range obs {
		fmt.Println(o.Time.Format(time.RFC3339Nano), o.Source, o.Evidence, o.Zone, o.QName, o.QType, o.Server, o.Port)
	}
	// Output:
	// 2026-11-22T02:01:50.284Z bind lame_referral we\.ird.lab. www.we\.ird.lab.  127.53.4.1 53
	// 2026-11-22T02:01:50.268Z bind refused  www.refused.lab. A 127.53.3.1 53
	// 2026-11-22T02:01:53Z unbound lame_referral upref.lab. www.upref.lab. A 127.53.4.1 53
}
