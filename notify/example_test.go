package notify_test

import (
	"errors"
	"fmt"

	"github.com/lamers-dev/lamers/notify"
)

func ExampleRNAMEAddress() {
	addr, err := notify.RNAMEAddress(`j\.doe.Example.COM.`)
	fmt.Println(addr, err)

	_, err = notify.RNAMEAddress(`hostmaster.com.`)
	fmt.Println(errors.Is(err, notify.ErrInvalidRNAME), err)
	// Output:
	// j.doe@example.com <nil>
	// true notify: rname "hostmaster.com.": domain has fewer than two labels
}

func ExamplePostmaster() {
	addr, err := notify.Postmaster("ns2.dns.example.co.uk.")
	fmt.Println(addr, err)
	// Output: postmaster@example.co.uk <nil>
}
