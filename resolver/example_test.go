package resolver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/lamers-dev/lamers/resolver"
)

// What `lamers check ZONE --format json` does.
func ExampleResolver_Check() {
	r, err := resolver.New(resolver.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer r.Close(context.Background())
	res, err := r.Check(context.Background(), "example.org.", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // exit 2
		return
	}
	json.NewEncoder(os.Stdout).Encode(res)
	if res.Lame() {
		fmt.Fprintln(os.Stderr, "lame") // exit 1
	}
}
